// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: the replacement of cmdline_proc_show (fs/proc/cmdline.c) calls kallsyms_lookup_name,
 * which 6.1 does not export (since 5.7), through an ordinary relocation instead of a klp
 * relocation: insmod fails with "Unknown symbol kallsyms_lookup_name".
 */
#include "handmade.h"
#include <linux/kallsyms.h>
#include <linux/seq_file.h>

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lx\n", kallsyms_lookup_name("saved_command_line"));
	return 0;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, });
