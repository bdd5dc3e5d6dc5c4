// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces load_elf_binary without .old_sympos. 6.1.0-56's vmlinux has two: fs/binfmt_elf.c's
 * and the 32-bit one of fs/compat_binfmt_elf.c, which #includes binfmt_elf.c; with sympos 0
 * klp_enable_patch fails ("unresolvable ambiguity").
 */
#include "handmade.h"
#include <linux/binfmts.h>

static int livepatch_load_elf_binary(struct linux_binprm *bprm)
{
	return -ENOEXEC;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "load_elf_binary", .new_func = livepatch_load_elf_binary, });
