// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces cmdline_proc_show (fs/proc/cmdline.c), which takes (struct seq_file *m,
 * void *v), with a function of one parameter: the prototype samples/livepatch/livepatch-sample.c
 * gets right, got wrong. A replacement that then reads a second argument reads garbage.
 */
#include "handmade.h"
#include <linux/seq_file.h>

static int livepatch_cmdline_proc_show(struct seq_file *m)
{
	seq_printf(m, "%s\n", "this has been live patched");
	return 0;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, });
