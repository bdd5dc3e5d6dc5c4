// SPDX-License-Identifier: GPL-2.0
/*
 * A hand-made livepatch whose replacement of cmdline_proc_show prints the address of one of
 * the fat module's two static init_once functions (fs/fat/cache.c's and fs/fat/inode.c's).
 * The livepatch has a klp_object for fat (with no functions to replace), so its klp
 * relocations against fat are applied when fat loads: late module patching.
 * KLPKIT_SYMPOS(init_once, fat, 2) names the second in the module's symbol table order.
 */
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <linux/klpkit.h>

extern void init_once(void *foo);

KLPKIT_SYMPOS(init_once, fat, 2);

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "klp-convert init_once %lx\n", (unsigned long)&init_once);
	return 0;
}

static struct klp_func funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, }, { }
};
static struct klp_func no_funcs[] = { { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { .name = "fat", .funcs = no_funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
