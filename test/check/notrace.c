// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces trace_clock_local (kernel/trace/trace_clock.c), declared
 * `u64 notrace trace_clock_local(void)`: it has no __fentry__ call, so ftrace cannot redirect
 * it and klp_enable_patch fails (kernel/trace is built without -pg besides).
 */
#include "handmade.h"
#include <linux/timekeeping.h>

static u64 livepatch_trace_clock_local(void)
{
	return ktime_get_ns();
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "trace_clock_local", .new_func = livepatch_trace_clock_local, });
