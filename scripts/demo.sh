#!/usr/bin/env bash
# The README's first command: set up a fresh Debian 12 machine and run klpkit's main job on
# the bundled example — turn examples/cmdline.patch into a livepatch module for the Debian
# 6.1 kernel with `klp build`, then boot that kernel in qemu and prove it with `klp vm-test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=out/demo
mkdir -p "$out"
echo "== klp build"
node dist/klp.cjs build --patch examples/cmdline.patch -o "$out" --name livepatch_cmdline
echo
echo "== klp vm-test"
node dist/klp.cjs vm-test "$out/livepatch_cmdline.ko" --check examples/cmdline-check.sh
echo
echo "demo: $out/livepatch_cmdline.ko is built, loads into the Debian kernel and patches /proc/cmdline"
