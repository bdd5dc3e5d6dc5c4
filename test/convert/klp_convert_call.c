// SPDX-License-Identifier: GPL-2.0
/*
 * A hand-made livepatch of cmdline_proc_show (fs/proc/cmdline.c) that calls a function and
 * reads a variable 6.1 does not export: kallsyms_lookup_name (unexported since 5.7) and
 * saved_command_line. Built as it is, insmod fails with "Unknown symbol"; after `klp convert`
 * both are klp relocations against vmlinux, and /proc/cmdline shows they reach the real ones.
 */
#include "handmade.h"
#include <linux/init.h>
#include <linux/kallsyms.h>
#include <linux/seq_file.h>

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	unsigned long self = kallsyms_lookup_name("kallsyms_lookup_name");

	seq_printf(m, "klp-convert call %s\n",
		   self && self == (unsigned long)&kallsyms_lookup_name ? "resolved" : "wrong");
	seq_printf(m, "klp-convert cmdline %s\n", saved_command_line);
	return 0;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, });
