#!/usr/bin/env bash
# Installs everything klpkit and its tests need on a fresh Debian 12 machine, then builds.
# Idempotent: a second run checks and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

KVER="${KLP_KERNEL:-6.1.0-56-amd64}"
# Debian packages: compilers for fixtures (gcc-12 is the kernel's own; clang-14 for Clang
# fixtures, clang-16 for kCFI and -mfunction-return, clang-19 with lld and llvm for the Clang-built
# kernel of scripts/own-kernel.sh), objtool as Debian's kbuild packages ship it
# (6.1's and a 6.12 one: fixtures run it as those kernels' kbuild does), binutils as the reference
# reader, the default target kernel's headers and image (its exact source, and any other kernel's
# packages, klp fetches into its cache itself with apt-get download), kbuild's own needs, the
# image decompressors (xz, lz4 for the cloud flavour, zstd), the VM (qemu, busybox, cpio), and
# time (the benchmark's peak RSS). For arm64 objects: Debian's cross gcc-12 (the arm64 kernels'
# own compiler) and binutils; clang-16 builds the aarch64 fixtures too.
PKGS=(gcc-12 make binutils clang-14 lld-14 llvm-14 clang-16 clang-19 lld-19 llvm-19 xz-utils lz4 zstd time
      "linux-headers-$KVER" "linux-image-$KVER" linux-kbuild-6.1
      bc bison flex libelf-dev libssl-dev dwarves kmod
      qemu-system-x86 busybox-static cpio
      gcc-12-aarch64-linux-gnu binutils-aarch64-linux-gnu)

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# The arm64 kernel test downloads linux-config-6.12:arm64 (Debian's arm64 configs) with apt-get
# download, which needs the arm64 architecture in dpkg and its package lists.
arm64_lists=1
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  arm64_lists=0
elif ! apt-cache show linux-config-6.12:arm64 >/dev/null 2>&1; then
  arm64_lists=0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any 6.12 kbuild will do for the fixtures' objtool; the archive keeps only recent ones, so the
# newest it has is chosen rather than a version written down here.
have_kbuild_612() { dpkg-query -W -f='${Package} ${Status}\n' 'linux-kbuild-6.12.*' 2>/dev/null | grep -q "install ok installed"; }
if ((${#missing[@]})) || ! have_kbuild_612 || ((arm64_lists == 0)); then
  $SUDO apt-get update -qq
  if ! have_kbuild_612; then
    kbuild=$(apt-cache search --names-only '^linux-kbuild-6\.12\.[0-9]+\+deb12$' | cut -d' ' -f1 | sort -V | tail -n 1)
    [ -n "$kbuild" ] || { echo "setup: no linux-kbuild-6.12.* package in the archive" >&2; exit 1; }
    missing+=("$kbuild")
  fi
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
