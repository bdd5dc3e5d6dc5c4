#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/kernel-tree.sh >/dev/null
node --test --test-concurrency=2 dist/test/*.test.js
