// SPDX-License-Identifier: GPL-2.0
/*
 * Safe: the same replacement as ambiguous.c with .old_sympos = 2, the second load_elf_binary
 * in kallsyms order: the compat (32-bit) loader that fs/compat_binfmt_elf.c builds by including
 * binfmt_elf.c. klp check must find that very object, not fs/binfmt_elf.o.
 */
#include "handmade.h"
#include <linux/binfmts.h>

static int livepatch_load_elf_binary(struct linux_binprm *bprm)
{
	return -ENOEXEC;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "load_elf_binary", .new_func = livepatch_load_elf_binary, .old_sympos = 2, });
