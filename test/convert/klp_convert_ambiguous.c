// SPDX-License-Identifier: GPL-2.0
/* load_elf_binary without saying which: klp convert refuses it, naming both candidates. */
#include "convert_elf.h"
