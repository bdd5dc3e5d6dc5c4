#!/usr/bin/env bash
# Builds, once and cached by content, a small kernel of klpkit's own from Debian's exact
# linux-source-6.12: the "kernel you built yourself" that own-tree targets (`klp build --source
# TREE` with no --kernel) and the Clang tests run against. The same source and config are built
# with Clang (clang-19, LLVM=-19, kCFI on) and with GCC (gcc-12) so one patch proves both.
#
#   own-kernel.sh clang-19|gcc-12
#
#   KLP_OWN_SOURCE  the Debian kernel whose exact source is used (default 6.12.117+deb12-amd64,
#                   the 6.12 kernel the e2e suite targets, so CI fetches one tarball for both)
#   KLP_CACHE       klpkit's cache (default ~/.cache/klpkit); the tree lands in own-kernels/
#
# The config is `make allnoconfig` with kernels/small.config (and kernels/clang.config for
# Clang) as KCONFIG_ALLCONFIG; a line kconfig dropped is an error. The tree is built in place
# (vmlinux, bzImage, modules, System.map, Module.symvers) and stamped when complete; an
# unstamped tree is removed and built again. The last line of stdout is the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'own-kernel: %s\n' "$*" >&2; }
die() { printf 'own-kernel: error: %s\n' "$1" >&2; exit "${2:-1}"; }

(($# == 1)) || die "usage: own-kernel.sh clang-19|gcc-12" 2
compiler="$1"
frags=(kernels/small.config)
case "$compiler" in
  clang-[0-9]*) vars=("LLVM=-${compiler#clang-}"); frags+=(kernels/clang.config) ;;
  gcc-[0-9]*) vars=("CC=$compiler") ;;
  *) die "unknown compiler '$compiler' (clang-19 or gcc-12)" 2 ;;
esac
command -v "$compiler" >/dev/null || die "$compiler is not installed (bash scripts/setup.sh installs it)" 2
[ -f dist/klp.cjs ] || die "klp is not built (npm run build)" 2

source_of="${KLP_OWN_SOURCE:-6.12.117+deb12-amd64}"
tarball="$(node dist/klp.cjs target --kernel "$source_of" --fetch-source --json |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).sourceTarball)')"
[ -f "$tarball" ] || die "no source tarball for $source_of"

# The key: the exact source (its versioned file name and size), the compiler's own version line,
# the make variables, the config fragments and this script.
key="$({ printf '%s %s\n%s\n%s\n' "$(basename "$tarball")" "$(stat -L -c %s "$tarball")" \
  "$("$compiler" --version | head -n 1)" "${vars[*]}"; cat "${frags[@]}" "$0"; } | sha256sum | cut -c1-12)"
root="${KLP_CACHE:-$HOME/.cache/klpkit}/own-kernels"
tree="$root/$compiler-$key"
stamp="$tree/.klpkit-built"
if [ -f "$stamp" ]; then printf '%s\n' "$tree"; exit 0; fi

mkdir -p "$root"
exec 9>"$tree.lock"
flock -n 9 || { log "waiting for another build of $tree"; flock 9; }
if [ -f "$stamp" ]; then printf '%s\n' "$tree"; exit 0; fi

start=$SECONDS
rm -rf "$tree" "$tree.extract"
mkdir -p "$tree.extract"
log "extracting $(basename "$tarball")"
tar -C "$tree.extract" -xf "$tarball"
top=("$tree.extract"/*)
((${#top[@]} == 1)) && [ -f "${top[0]}/Makefile" ] || die "unexpected layout of $tarball"
mv "${top[0]}" "$tree"
rmdir "$tree.extract"
cat "${frags[@]}" > "$tree/.klpkit-fragment"

cd "$tree"
log "configuring (allnoconfig + ${frags[*]}, make ${vars[*]})"
make -s "${vars[@]}" KCONFIG_ALLCONFIG=.klpkit-fragment allnoconfig >&2
dropped=()
while IFS= read -r line; do
  case "$line" in CONFIG_*=*) grep -qxF -- "$line" .config || dropped+=("$line") ;; esac
done < .klpkit-fragment
((${#dropped[@]} == 0)) || die "kconfig did not keep: ${dropped[*]} (a dependency is missing from kernels/*.config)"

log "make -j2 ${vars[*]} (vmlinux, bzImage, modules; 10-25 minutes on 2 cores)"
make -s -j2 "${vars[@]}" >&2
for f in vmlinux System.map Module.symvers arch/x86/boot/bzImage modules.order; do
  [ -s "$f" ] || die "the build left no $f"
done
printf '%s\n%s\n' "$(make -s "${vars[@]}" kernelrelease)" "$("$compiler" --version | head -n 1)" > "$stamp"
log "built $(head -n 1 "$stamp") in $((SECONDS - start)) s: $tree"
printf '%s\n' "$tree"
