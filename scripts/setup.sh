#!/usr/bin/env bash
# Installs everything klpkit and its tests need on a fresh Debian 12 machine, then builds.
# Idempotent: a second run checks and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

KVER="${KLP_KERNEL:-6.1.0-56-amd64}"
# Debian packages: compilers for fixtures (gcc-12 is the kernel's own; clang-14 for Clang
# fixtures, clang-16 for kCFI and -mfunction-return), objtool as Debian's kbuild packages ship it
# (6.1's and a 6.12 one: fixtures run it as those kernels' kbuild does; any linux-kbuild-6.12.*
# will do), binutils as the reference reader, the target kernel's source/headers/image, kbuild's
# own needs, the VM (qemu, busybox, cpio), and time (the benchmark's peak RSS).
PKGS=(gcc-12 make binutils clang-14 lld-14 llvm-14 clang-16 xz-utils time
      "linux-source-6.1" "linux-headers-$KVER" "linux-image-$KVER"
      linux-kbuild-6.1 "linux-kbuild-6.12.118+deb12"
      bc bison flex libelf-dev libssl-dev dwarves kmod
      qemu-system-x86 busybox-static cpio)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
