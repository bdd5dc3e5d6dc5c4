// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces proc_get_long.constprop.0 (kernel/sysctl.c), the clone every caller of
 * proc_get_long calls, with a function of proc_get_long's C prototype. The clone is not passed
 * perm_tr_len (gcc folded in the constant 3): its sixth argument register holds `tr`, so this
 * replacement would read the pointer as perm_tr_len and `tr` from a stack slot nobody wrote.
 */
#include "handmade.h"
#include <linux/sysctl.h>

static int livepatch_proc_get_long(char **buf, size_t *size, unsigned long *val, bool *neg,
				   const char *perm_tr, unsigned perm_tr_len, char *tr)
{
	return -EINVAL;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "proc_get_long.constprop.0", .new_func = livepatch_proc_get_long, });
