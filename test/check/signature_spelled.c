// SPDX-License-Identifier: GPL-2.0
/*
 * Safe: replaces proc_dointvec (kernel/sysctl.c) with its prototype spelled differently but
 * passed alike: size_t and loff_t written as the types they name (unsigned long, long long),
 * a const table pointer. The signature check compares types, not spellings.
 */
#include "handmade.h"
#include <linux/sysctl.h>

static int livepatch_proc_dointvec(const struct ctl_table *table, int write, void *buffer,
				   unsigned long *lenp, long long *ppos)
{
	return -EINVAL;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "proc_dointvec", .new_func = livepatch_proc_dointvec, });
