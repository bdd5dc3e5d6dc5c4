#!/usr/bin/env bash
# The README's first command: set up a fresh Debian 12 machine and run klpkit's main job on
# the bundled example — build fs/proc/cmdline.o of the Debian 6.1 kernel before and after
# examples/cmdline.patch, and let `klp diff` extract the livepatch object.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tree=$(bash scripts/kernel-tree.sh | tail -n 1)
echo "demo: kernel tree $tree"
out=out/demo
mkdir -p "$out"
bash scripts/build-pair.sh examples/cmdline.patch "$out/pair" fs/proc/cmdline.o
set +e
node dist/klp.cjs diff "$out/pair/orig/fs/proc/cmdline.o" "$out/pair/patched/fs/proc/cmdline.o" -o "$out/cmdline-livepatch.o"
rc=$?
set -e
if [ "$rc" != 0 ]; then echo "demo: klp diff exited $rc" >&2; exit 1; fi
echo
echo "demo: $out/cmdline-livepatch.o holds only what the livepatch needs:"
objdump -dr "$out/cmdline-livepatch.o" | sed -n '/<cmdline_proc_show>:/,/^$/p'
