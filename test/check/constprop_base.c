// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces proc_get_long (kernel/sysctl.c), the parser behind every integer sysctl
 * write. gcc-12 propagated the constant perm_tr_len its five callers pass (sizeof of a 3-byte
 * separator table) into a clone, proc_get_long.constprop.0, and left no proc_get_long: every
 * caller calls the clone, kallsyms has no proc_get_long, and the livepatch cannot enable.
 */
#include "handmade.h"
#include <linux/sysctl.h>

static int livepatch_proc_get_long(char **buf, size_t *size, unsigned long *val, bool *neg,
				   const char *perm_tr, unsigned perm_tr_len, char *tr)
{
	return -EINVAL;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "proc_get_long", .new_func = livepatch_proc_get_long, });
