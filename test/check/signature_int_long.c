// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces proc_dointvec (kernel/sysctl.c), whose second parameter is `int write`, with
 * a function that declares it `long`. ftrace hands the replacement the caller's registers: the
 * upper half of %esi is whatever the caller left there, so `write` may read as non-zero (a
 * write) on a read.
 */
#include "handmade.h"
#include <linux/sysctl.h>

static int livepatch_proc_dointvec(struct ctl_table *table, long write, void *buffer,
				   size_t *lenp, loff_t *ppos)
{
	return -EINVAL;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "proc_dointvec", .new_func = livepatch_proc_dointvec, });
