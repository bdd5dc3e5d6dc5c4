#!/bin/sh
# Passes when the converted livepatch prints the address of the SECOND load_elf_binary of
# /proc/kallsyms (the one KLPKIT_SYMPOS(load_elf_binary, vmlinux, 2) names), not the first.
cat /proc/cmdline
got=$(sed -n 's/^klp-convert load_elf_binary \([0-9a-f]*\)$/\1/p' /proc/cmdline)
first=$(grep ' load_elf_binary$' /proc/kallsyms | sed -n 1p | cut -d' ' -f1)
second=$(grep ' load_elf_binary$' /proc/kallsyms | sed -n 2p | cut -d' ' -f1)
echo "printed=$got first=$first second=$second"
[ -n "$got" ] && [ "$first" != "$second" ] || exit 1
# /proc/kallsyms pads addresses to 16 digits; %lx of a kernel address has 16 too.
[ "$got" = "$second" ]
