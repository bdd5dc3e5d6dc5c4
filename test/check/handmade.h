/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame of a hand-made livepatch exactly as samples/livepatch/livepatch-sample.c writes it:
 * static struct klp_func funcs[], struct klp_object objs[] (one object; NULL = vmlinux) and
 * struct klp_patch patch, enabled at module init. Each fixture of test/check.test.ts supplies
 * its replacement functions and klp_func entries.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>

#define HANDMADE_LIVEPATCH(objname, ...)					\
static struct klp_func funcs[] = { __VA_ARGS__, { } };			\
static struct klp_object objs[] = { { .name = objname, .funcs = funcs, }, { } }; \
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };	\
static int livepatch_init(void) { return klp_enable_patch(&patch); }	\
static void livepatch_exit(void) { }					\
module_init(livepatch_init);						\
module_exit(livepatch_exit);						\
MODULE_LICENSE("GPL");							\
MODULE_INFO(livepatch, "Y")
