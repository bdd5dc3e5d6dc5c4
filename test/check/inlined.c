// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces do_prlimit (kernel/sys.c), a static function gcc keeps out of line for
 * prlimit64(2) and setrlimit(2) but inlines into getrlimit(2) and its compat forms: after the
 * livepatch, getrlimit still runs the old code.
 */
#include "handmade.h"
#include <linux/resource.h>
#include <linux/sched.h>

static int livepatch_do_prlimit(struct task_struct *tsk, unsigned int resource,
				struct rlimit *new_rlim, struct rlimit *old_rlim)
{
	return -EPERM;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "do_prlimit", .new_func = livepatch_do_prlimit, });
