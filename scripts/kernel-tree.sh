#!/usr/bin/env bash
# Prepares (once) a kernel source tree from an exact source tarball and a kernel config, ready to
# build single objects (`make <dir>/<file>.o`) and external modules. klp (src/target/tree.ts)
# runs it with every input named; nothing here picks a kernel, a source or a compiler.
#
#   KLP_TREE_DIR        the tree to create, e.g. ~/.cache/klpkit/trees/linux-source-6.1_6.1.192-2_<config sha>
#   KLP_SOURCE_TARBALL  the exact source tarball (linux-source-6.1.tar.xz of the image's version)
#   KLP_CONFIG          the target kernel's config (/boot/config-<release>)
#   KLP_MAKE_VARS       make variables every build in this tree uses, space-separated, e.g.
#                       "CC=gcc-12 KERNELRELEASE=6.1.0-56-amd64" (the kernel's own compiler and release)
#
# Logs go to stderr; the last line of stdout is the tree. A stamp naming every input is written
# only once the tree is complete, so an interrupted run starts again; runs are serialised with
# flock; a later run with the same inputs only compares the stamp.
set -euo pipefail

log() { printf 'kernel-tree: %s\n' "$*" >&2; }
die() { printf 'kernel-tree: error: %s\n' "$*" >&2; exit "${2:-1}"; }

TREE="${KLP_TREE_DIR:?KLP_TREE_DIR names the tree to prepare}"
TARBALL="${KLP_SOURCE_TARBALL:?KLP_SOURCE_TARBALL names the exact source tarball}"
CONFIG="${KLP_CONFIG:?KLP_CONFIG names the kernel config}"
read -r -a MAKE_VARS <<< "${KLP_MAKE_VARS:-}"
STAMP="$TREE/.klpkit-ready"
EXTRACTED="$TREE/.klpkit-extracted"
LOCK="$TREE.lock"

[ -r "$TARBALL" ] || die "kernel source tarball $TARBALL not found" 2
[ -r "$CONFIG" ] || die "kernel config $CONFIG not found" 2

# What the stamp records: a tree is reused only if it was prepared from the same inputs.
stamp_text() {
  printf 'tarball=%s %s\nconfig=%s\nmake=%s\n' "$TARBALL" "$(stat -L -c '%s %Y' "$TARBALL")" \
    "$(sha256sum < "$CONFIG" | cut -d' ' -f1)" "${MAKE_VARS[*]}"
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_text)" ]; then
  printf '%s\n' "$TREE"
  exit 0
fi

missing=()
for tool in make tar xz flex bison bc perl pahole patch flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/include/libelf.h ] || [ -e /usr/include/gelf.h ] || missing+=("libelf-dev")
[ -e /usr/include/openssl/ssl.h ] || missing+=("libssl-dev")
((${#missing[@]} == 0)) || die "missing build tools: ${missing[*]} (scripts/setup.sh installs them)" 2

mkdir -p "$(dirname "$TREE")"
exec 9>"$LOCK"
if ! flock -n 9; then
  log "waiting for another process preparing $TREE"
  flock 9
fi

expected="$(stamp_text)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$expected" ]; then
  printf '%s\n' "$TREE"
  exit 0
fi
rm -f "$STAMP"
start=$SECONDS

if [ -f "$EXTRACTED" ] && [ "$(cat "$EXTRACTED")" = "$(stat -L -c '%s %Y' "$TARBALL")" ]; then
  log "reusing extracted sources in $TREE"
  # A build-pair run killed before it could revert its patch leaves it recorded here.
  if [ -f "$TREE/.klpkit-applied.patch" ]; then
    log "reverting a patch left applied by an interrupted build"
    (cd "$TREE" && patch -p1 -R -s -f --no-backup-if-mismatch < .klpkit-applied.patch) >&2 ||
      die "could not revert $TREE/.klpkit-applied.patch; remove $TREE to start again"
    rm -f "$TREE/.klpkit-applied.patch"
  fi
else
  log "extracting $TARBALL (about 20 s, 1.5 GB)"
  tmp="$TREE.extract"
  rm -rf "$tmp" "$TREE"
  mkdir -p "$tmp"
  tar -C "$tmp" -xf "$TARBALL"
  top=("$tmp"/*)
  ((${#top[@]} == 1)) && [ -f "${top[0]}/Makefile" ] || die "unexpected layout of $TARBALL (expected one top-level source directory)"
  mv "${top[0]}" "$TREE"
  rmdir "$tmp"
  stat -L -c '%s %Y' "$TARBALL" > "$EXTRACTED"
fi

cd "$TREE"
log "configuring from $CONFIG (make ${MAKE_VARS[*]})"
cp "$CONFIG" .config
# Debian's config names its signing and trusted certificates, which the source package lacks;
# they decide how modules are signed, not what code is built.
for key in CONFIG_SYSTEM_TRUSTED_KEYS CONFIG_MODULE_SIG_KEY CONFIG_SYSTEM_REVOCATION_KEYS; do
  scripts/config --file .config --set-str "$key" ""
done
make -s "${MAKE_VARS[@]}" olddefconfig >&2
log "make -j2 modules_prepare"
make -s -j2 "${MAKE_VARS[@]}" modules_prepare >&2

printf '%s\n' "$expected" > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
log "tree ready in $((SECONDS - start)) s"
printf '%s\n' "$TREE"
