#!/bin/sh
# Passes when the livepatch prints the address of the SECOND init_once of the fat module in
# /proc/kallsyms (KLPKIT_SYMPOS(init_once, fat, 2)), not the first: the klp relocation was
# applied when fat loaded.
cat /proc/cmdline
got=$(sed -n 's/^klp-convert init_once \([0-9a-f]*\)$/\1/p' /proc/cmdline)
first=$(awk '$3 == "init_once" && $4 == "[fat]" { print $1 }' /proc/kallsyms | sed -n 1p)
second=$(awk '$3 == "init_once" && $4 == "[fat]" { print $1 }' /proc/kallsyms | sed -n 2p)
echo "printed=$got first=$first second=$second"
[ -n "$got" ] && [ -n "$second" ] && [ "$first" != "$second" ] || exit 1
[ "$got" = "$second" ]
