// SPDX-License-Identifier: GPL-2.0
/*
 * Safe: replaces do_prlimit (kernel/sys.c) together with every function gcc inlined it into,
 * the getrlimit(2) entry points of 6.1.0-56-amd64 (64-bit, ia32 and compat), so no path keeps
 * the old code. This is how klp build carries the callers of a changed inlined function.
 */
#include "handmade.h"
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/ptrace.h>

static int livepatch_do_prlimit(struct task_struct *tsk, unsigned int resource,
				struct rlimit *new_rlim, struct rlimit *old_rlim)
{
	return -EPERM;
}

static long livepatch_sys_getrlimit(const struct pt_regs *regs)
{
	return -EPERM;
}

HANDMADE_LIVEPATCH(NULL,
	{ .old_name = "do_prlimit", .new_func = livepatch_do_prlimit, },
	{ .old_name = "__x64_sys_getrlimit", .new_func = livepatch_sys_getrlimit, },
	{ .old_name = "__ia32_sys_getrlimit", .new_func = livepatch_sys_getrlimit, },
	{ .old_name = "__x64_compat_sys_getrlimit", .new_func = livepatch_sys_getrlimit, },
	{ .old_name = "__ia32_compat_sys_getrlimit", .new_func = livepatch_sys_getrlimit, });
