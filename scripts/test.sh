#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The default target kernel's exact source, fetched and prepared once (klp build does the same).
node dist/klp.cjs target --prepare >/dev/null
node --test --test-concurrency=2 dist/test/*.test.js
