#!/usr/bin/env bash
# Installs everything klpkit and its tests need on a fresh Debian 12 machine, then builds.
# Idempotent: a second run checks and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

KVER="${KLP_KERNEL:-6.1.0-56-amd64}"
# Debian packages: compilers for fixtures (gcc-12 is the kernel's own; clang-14 for Clang
# fixtures), binutils as the reference reader, the default target kernel's headers and image
# (its exact source, and any other kernel's packages, klp fetches into its cache itself with
# apt-get download), kbuild's own needs, and the VM (qemu, busybox, cpio).
PKGS=(gcc-12 make binutils clang-14 lld-14 llvm-14 xz-utils lz4 zstd
      "linux-headers-$KVER" "linux-image-$KVER"
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
