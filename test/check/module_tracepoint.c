// SPDX-License-Identifier: GPL-2.0
/*
 * A replacement of ext4's ext4_sync_file that branches on ext4's own tracepoint key, as
 * trace_ext4_sync_file_enter() does. ext4 does not export the key: the livepatch reaches it
 * through a klp relocation against ext4, which the kernel applies only when ext4 is patched.
 * Its __jump_table entry, read when the livepatch loads, must not need one (check.test.ts makes
 * both forms of the module from this one).
 */
#include "handmade.h"
#include <linux/fs.h>
#include <linux/jump_label.h>
#include <linux/tracepoint-defs.h>

extern struct tracepoint __tracepoint_ext4_sync_file_enter;

static int livepatch_ext4_sync_file(struct file *file, loff_t start, loff_t end, int datasync)
{
	if (static_key_false(&__tracepoint_ext4_sync_file_enter.key))
		pr_info("ext4_sync_file: traced\n");
	return -EIO;
}

HANDMADE_LIVEPATCH("ext4", { .old_name = "ext4_sync_file", .new_func = livepatch_ext4_sync_file, });
