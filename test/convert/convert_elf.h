/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hand-made livepatch of cmdline_proc_show that prints the address of load_elf_binary. 6.1's
 * vmlinux has two static functions of that name: fs/binfmt_elf.c's and fs/compat_binfmt_elf.c's
 * (the same source built again for 32-bit binaries), so which one the module means must be said.
 */
#include "handmade.h"
#include <linux/binfmts.h>
#include <linux/seq_file.h>

extern int load_elf_binary(struct linux_binprm *bprm);

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "klp-convert load_elf_binary %lx\n", (unsigned long)&load_elf_binary);
	return 0;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, });
