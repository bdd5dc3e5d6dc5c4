// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces put_pid (kernel/pid.c). gcc split it (partial inlining): its refcount test is
 * inlined into kernel/pid.c's own callers (delayed_put_pid, pidfd_get_task, pidfd_open), which
 * then call put_pid.part.0 directly; neither path reaches the replacement.
 */
#include "handmade.h"
#include <linux/pid.h>

static void livepatch_put_pid(struct pid *pid)
{
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "put_pid", .new_func = livepatch_put_pid, });
