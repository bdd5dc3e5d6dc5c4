// SPDX-License-Identifier: GPL-2.0
/*
 * Unsafe: replaces elf_map.isra.0, the IPA-SRA clone of fs/compat_binfmt_elf.c's elf_map.
 * Its parameters are whatever gcc kept of elf_map's, not the C declaration's, so a replacement
 * written from the source has the wrong ABI.
 */
#include "handmade.h"
#include <linux/elf.h>
#include <linux/fs.h>

static unsigned long livepatch_elf_map(struct file *filep, unsigned long addr,
				       const struct elf_phdr *eppnt, int prot, int type,
				       unsigned long total_size)
{
	return -EINVAL;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "elf_map.isra.0", .new_func = livepatch_elf_map, });
