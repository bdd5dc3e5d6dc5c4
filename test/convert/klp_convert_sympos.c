// SPDX-License-Identifier: GPL-2.0
/*
 * load_elf_binary, the second of the two in kallsyms order (the compat loader, at the higher
 * address): klp convert makes it .klp.sym.vmlinux.load_elf_binary,2 and drops the record.
 */
#include <linux/klpkit.h>
#include "convert_elf.h"

KLPKIT_SYMPOS(load_elf_binary, vmlinux, 2);
