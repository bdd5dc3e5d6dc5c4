#!/usr/bin/env bash
# Keeps klpkit's working copy of a user's kernel tree: klpkit never builds in a tree it was given
# (a make there could rewrite its .config for another compiler, or leave objects compiled with
# klpkit's flags beside the ones vmlinux was linked from), so every build runs in this copy.
#
#   copy-tree.sh SRC DST
#
#   SRC  the user's tree (configured; a built one is the target itself)
#   DST  the copy, under klpkit's cache
#
# The first run copies everything but the link outputs (vmlinux and its intermediates, bzImage,
# .ko files, Module.symvers: klp hands the target's exports to modpost itself, and modpost reads
# a tree's own Module.symvers besides, "exported twice"), keeping modification times to the
# nanosecond so kbuild sees an up-to-date tree.
# Later runs copy only what changed in SRC since (sources, headers, Makefiles, Kconfig files newer
# than the stamp) and record it in the stamp, so cached original objects are rebuilt after an edit.
# Files deleted from SRC are not deleted from the copy. Runs are serialised with flock; the last
# line of stdout is DST.
set -euo pipefail

log() { printf 'copy-tree: %s\n' "$*" >&2; }
die() { printf 'copy-tree: error: %s\n' "$1" >&2; exit "${2:-1}"; }

(($# == 2)) || die "usage: copy-tree.sh SRC DST" 2
src="$(cd "$1" && pwd -P)" || die "no such tree: $1" 2
dst="$2"
[ -f "$src/Makefile" ] && [ -f "$src/.config" ] || die "$src is not a configured kernel tree (no Makefile or .config)" 2

stamp="$dst/.klpkit-ready"
identity() {
  printf 'copy of %s\nconfig=%s\n' "$src" "$(sha256sum < "$src/.config" | cut -d' ' -f1)"
  [ ! -f "$src/System.map" ] || printf 'System.map=%s\n' "$(sha256sum < "$src/System.map" | cut -d' ' -f1)"
}

mkdir -p "$(dirname "$dst")"
exec 9>"$dst.lock"
flock -n 9 || { log "waiting for another copy of $src"; flock 9; }

want="$(identity)"
if [ -f "$stamp" ] && [ "$(head -n "$(printf '%s\n' "$want" | wc -l)" "$stamp")" = "$want" ]; then
  # Sources edited since the copy (or since the last sync): copied over, and named in the stamp.
  mapfile -t newer < <(cd "$src" && find . -newer "$stamp" -type f \
    \( -name '*.[chS]' -o -name 'Makefile*' -o -name 'Kbuild*' -o -name 'Kconfig*' \) -print)
  if ((${#newer[@]})); then
    log "${#newer[@]} file(s) changed in $src since the copy: ${newer[*]:0:5}"
    (cd "$src" && cp -a --parents "${newer[@]}" "$dst/")
    { cat "$stamp"; printf 'synced %s\n' "$(cd "$src" && stat -c '%n %Y.%y' "${newer[@]}" | sha256sum | cut -c1-16)"; } > "$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
  fi
  printf '%s\n' "$dst"
  exit 0
fi

start=$SECONDS
log "copying $src to $dst (once; klpkit never builds in your tree)"
rm -rf "$dst"
mkdir -p "$dst"
# posix format keeps nanosecond times: an object must not look older than its own source.
(cd "$src" && tar --format=posix -cf - \
  --exclude=./vmlinux --exclude=./vmlinux.o --exclude=./vmlinux.a --exclude='./.tmp_vmlinux*' \
  --exclude='*.ko' --exclude=./Module.symvers --exclude=./arch/x86/boot/bzImage --exclude=./arch/arm64/boot/Image \
  --exclude='./.klpkit-*' .) | (cd "$dst" && tar -xf -)
printf '%s\n' "$want" > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "copied in $((SECONDS - start)) s"
printf '%s\n' "$dst"
