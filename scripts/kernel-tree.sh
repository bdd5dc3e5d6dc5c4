#!/usr/bin/env bash
# Prepares (once) and caches a kernel source tree configured like the target Debian kernel, ready
# to build single objects: `make <dir>/<file>.o`.
#
#   KLP_KERNEL  kernel release (default 6.1.0-56-amd64); its config is /boot/config-$KLP_KERNEL
#   KLP_CACHE   cache root (default ~/.cache/klpkit); the tree is $KLP_CACHE/src/linux-$KLP_KERNEL
#   KLP_SOURCE_TARBALL  source tarball (default /usr/src/linux-source-<major.minor>.tar.xz)
#
# Logs go to stderr; the last line of stdout is the absolute path of the tree. A stamp file is
# written only once the tree is complete, so an interrupted run starts that work again; runs are
# serialised with flock. The second run only checks the stamp and returns at once.
set -euo pipefail

KVER="${KLP_KERNEL:-6.1.0-56-amd64}"
CACHE="${KLP_CACHE:-$HOME/.cache/klpkit}"
MM="$(printf '%s\n' "$KVER" | cut -d. -f1,2)"
TARBALL="${KLP_SOURCE_TARBALL:-/usr/src/linux-source-$MM.tar.xz}"
SRCROOT="$CACHE/src"
TREE="$SRCROOT/linux-$KVER"
STAMP="$TREE/.klpkit-ready"
EXTRACTED="$TREE/.klpkit-extracted"
LOCK="$SRCROOT/linux-$KVER.lock"

log() { printf 'kernel-tree: %s\n' "$*" >&2; }
die() { printf 'kernel-tree: error: %s\n' "$*" >&2; exit 1; }

find_config() {
  local c
  for c in "/boot/config-$KVER" "/usr/src/linux-headers-$KVER/.config" "/lib/modules/$KVER/build/.config"; do
    if [ -r "$c" ]; then printf '%s\n' "$c"; return 0; fi
  done
  return 1
}

# What the stamp records: a tree is reused only if it was prepared from the same inputs.
stamp_text() {
  local config="$1"
  printf 'kver=%s\ntarball=%s %s\nconfig=%s %s\n' "$KVER" \
    "$TARBALL" "$(stat -c '%s %Y' "$TARBALL")" \
    "$config" "$(sha256sum < "$config" | cut -d' ' -f1)"
}

# Fast path: no lock needed, the stamp is written last and atomically.
if [ -f "$STAMP" ]; then
  config="$(find_config)" || die "no kernel config for $KVER (looked for /boot/config-$KVER and the headers package)"
  [ -r "$TARBALL" ] || die "kernel source tarball $TARBALL not found (install linux-source-$MM)"
  if [ "$(cat "$STAMP")" = "$(stamp_text "$config")" ]; then
    printf '%s\n' "$TREE"
    exit 0
  fi
fi

# Slow path: check every prerequisite first, with one clear message per missing piece.
[ -r "$TARBALL" ] || die "kernel source tarball $TARBALL not found (install linux-source-$MM)"
config="$(find_config)" || die "no kernel config for $KVER: /boot/config-$KVER is missing (install linux-image-$KVER or linux-headers-$KVER)"
missing=()
for tool in make gcc tar xz flex bison bc perl pahole patch flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/include/libelf.h ] || [ -e /usr/include/gelf.h ] || missing+=("libelf-dev")
[ -e /usr/include/openssl/ssl.h ] || missing+=("libssl-dev")
((${#missing[@]} == 0)) || die "missing build tools: ${missing[*]} (scripts/setup.sh installs them)"

mkdir -p "$SRCROOT"
exec 9>"$LOCK"
if ! flock -n 9; then
  log "waiting for another process preparing $TREE"
  flock 9
fi

expected="$(stamp_text "$config")"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$expected" ]; then
  printf '%s\n' "$TREE"
  exit 0
fi
rm -f "$STAMP"
start=$SECONDS

if [ -f "$EXTRACTED" ] && [ "$(cat "$EXTRACTED")" = "$(stat -c '%s %Y' "$TARBALL")" ]; then
  log "reusing extracted sources in $TREE"
  # A build-pair run killed before it could revert its patch leaves it recorded here.
  if [ -f "$TREE/.klpkit-applied.patch" ]; then
    log "reverting a patch left applied by an interrupted build"
    (cd "$TREE" && patch -p1 -R -s -f --no-backup-if-mismatch < .klpkit-applied.patch) >&2 ||
      die "could not revert $TREE/.klpkit-applied.patch; remove $TREE to start again"
    rm -f "$TREE/.klpkit-applied.patch"
  fi
else
  log "extracting $TARBALL (about 10 s, 1.5 GB)"
  tmp="$SRCROOT/.extract-linux-$KVER"
  rm -rf "$tmp" "$TREE"
  mkdir -p "$tmp"
  tar -C "$tmp" -xf "$TARBALL"
  top=("$tmp"/*)
  ((${#top[@]} == 1)) && [ -f "${top[0]}/Makefile" ] || die "unexpected layout of $TARBALL (expected one top-level source directory)"
  mv "${top[0]}" "$TREE"
  rmdir "$tmp"
  stat -c '%s %Y' "$TARBALL" > "$EXTRACTED"
fi

cd "$TREE"
log "configuring from $config"
cp "$config" .config
# Debian's config names its signing and trusted certificates, which the source package lacks.
for key in CONFIG_SYSTEM_TRUSTED_KEYS CONFIG_MODULE_SIG_KEY CONFIG_SYSTEM_REVOCATION_KEYS; do
  scripts/config --file .config --set-str "$key" ""
done
make -s olddefconfig >&2
log "make -j2 modules_prepare"
make -s -j2 modules_prepare >&2

printf '%s\n' "$expected" > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
log "tree ready in $((SECONDS - start)) s"
printf '%s\n' "$TREE"
