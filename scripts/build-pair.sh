#!/usr/bin/env bash
# Builds kernel objects of a prepared tree (scripts/kernel-tree.sh, or a user's tree) before and
# after a patch.
#
#   build-pair.sh PATCH OUTDIR OBJ...
#
#   PATCH   a -p1 patch against the kernel source, or `-` for none (a second, identical build)
#   OUTDIR  receives OUTDIR/orig/OBJ and OUTDIR/patched/OBJ
#   OBJ     object paths relative to the tree, e.g. fs/proc/cmdline.o or fs/nfs/inode.o
#
#   KLP_TREE       the prepared tree (configured, `make modules_prepare` done)
#   KLP_MAKE_VARS  make variables of the target kernel, e.g. "CC=gcc-12 KERNELRELEASE=6.1.0-56-amd64"
#   KLP_ORIG_ONLY  1: PATCH must be `-`; only OUTDIR/orig/OBJ is built (klp check reads the
#                  kernel's own objects and needs no second build)
#   KLP_PREPROCESS 1: each OBJ's C file is only preprocessed, into OUTDIR/{orig,patched}/OBJ with
#                  .i for .o (klp build reads them to tell which readers of a patched header can
#                  compile to other code). Kbuild's own command for each .i (`make -n`) is run two
#                  at a time, once per file: kbuild's descent may reach a file twice (below). Not
#                  cached: 6.1's net/core/dev.i is 6 MB.
#
# Each state is built with one `make $KLP_MAKE_VARS KCFLAGS="-ffunction-sections -fdata-sections" OBJ...`
# (kbuild compiles objects of modules with -DMODULE by itself), one job at a time: kbuild's
# single-target descent can reach one object twice (drivers/Makefile lists both char/ and
# char/ipmi/), and two jobs would compile it at once and race ("fixdep: error opening file").
# The objects are deleted before
# each make, so both builds really compile. The patch is always reverted (trap), even on
# failure; a run killed outright leaves it recorded in the tree, and the next run reverts it.
# Runs are serialised with flock on the tree. If OUTDIR already holds both builds of every OBJ
# and a stamp naming the same patch (sha256), OBJ list, flags and tree, nothing is done.
set -euo pipefail

log() { printf 'build-pair: %s\n' "$*" >&2; }
die() { printf 'build-pair: error: %s\n' "$1" >&2; exit "${2:-1}"; }

(($# >= 3)) || die "usage: build-pair.sh PATCH|- OUTDIR OBJ..." 2
patch_arg="$1"; outdir_arg="$2"; shift 2
objs=("$@")

KCFLAGS_PAIR="-ffunction-sections -fdata-sections"

for o in "${objs[@]}"; do
  case "$o" in
    /*|*..*|"") die "object path must be relative to the kernel tree without '..': '$o'" 2 ;;
    *.o) ;;
    *) die "not an object path (must end in .o): '$o'" 2 ;;
  esac
done

orig_only="${KLP_ORIG_ONLY:-0}"
preprocess="${KLP_PREPROCESS:-0}"
[ "$orig_only" = 0 ] || [ "$patch_arg" = "-" ] || die "KLP_ORIG_ONLY builds no patch: PATCH must be -" 2
if [ "$patch_arg" = "-" ]; then
  patch_file=""
  patch_sum="none"
else
  [ -f "$patch_arg" ] && [ -r "$patch_arg" ] || die "patch file not found: $patch_arg" 2
  patch_file="$(cd "$(dirname "$patch_arg")" && pwd)/$(basename "$patch_arg")"
  patch_sum="$(sha256sum < "$patch_file" | cut -d' ' -f1)"
fi
mkdir -p "$outdir_arg"
outdir="$(cd "$outdir_arg" && pwd)"
pair_stamp="$outdir/.klpkit-pair"
notes="$outdir/.klpkit-patch-notes"

[ -n "${KLP_TREE:-}" ] || die "KLP_TREE names the prepared kernel tree" 2
[ -d "$KLP_TREE" ] || die "kernel tree not found: $KLP_TREE" 2
tree="$(cd "$KLP_TREE" && pwd)"
# The patch applied to the tree now: its presence means the tree may differ from its source.
applied_copy="$tree/.klpkit-applied.patch"
[ -f "$tree/.config" ] && [ -f "$tree/include/generated/autoconf.h" ] \
  || die "kernel tree $tree is not prepared (.config and 'make modules_prepare' needed)" 2
# klpkit's own trees carry the stamp of their inputs; a user's tree is known by its .config.
ready="$tree/.klpkit-ready"
[ -f "$ready" ] || ready="$tree/.config"
read -r -a MAKE_VARS <<< "${KLP_MAKE_VARS:-}"
lock="$(dirname "$tree")/$(basename "$tree").lock"

want_stamp() {
  printf 'patch=%s\nkcflags=%s\nmake=%s\ntree=%s %s\nobjs=%s\n' "$patch_sum" "$KCFLAGS_PAIR" \
    "${MAKE_VARS[*]}" "$tree" "$(sha256sum < "$ready" | cut -d' ' -f1)" "${objs[*]}"
  [ "$orig_only" = 0 ] || printf 'orig-only\n'
  [ "$preprocess" = 0 ] || printf 'preprocess\n'
}

pair_complete() {
  [ "$preprocess" = 0 ] || return 1
  [ -f "$pair_stamp" ] && [ "$(cat "$pair_stamp")" = "$(want_stamp)" ] || return 1
  local o
  for o in "${objs[@]}"; do
    [ -s "$outdir/orig/$o" ] && { [ "$orig_only" = 1 ] || [ -s "$outdir/patched/$o" ]; } || return 1
  done
}

# What stdout carries: patch's notes on hunks applied at an offset, one per line. A tree a killed
# run left patched is put back first (below, under the lock), even when this pair is cached: klp
# build reads the tree's sources too (its include graph, the screening of a header's readers).
answer_cached() {
  log "cached: $outdir"
  cat "$notes" 2>/dev/null || true
  exit 0
}
if [ ! -f "$applied_copy" ] && pair_complete; then answer_cached; fi

exec 9>"$lock"
if ! flock -n 9; then
  log "waiting for the kernel tree lock ($lock)"
  flock 9
fi
[ -f "$ready" ] || die "kernel tree $tree was being re-prepared; run again"

cd "$tree"
# The files an applied patch added, as build-pair.sh recorded them before it kept a copy of the
# files a patch touches (read only to undo a patch such a run left applied).
created_list="$tree/.klpkit-created"
patched_files=()

# A copy of every file the patch touches, taken before it is applied: reverting copies them back
# and removes what the patch added, whatever state a killed `patch` left the files in (`patch -R`
# cannot undo half of a patch: a corpus run stopped while 6.12's drivers/base fix was being applied
# left two files patched, and every later build in that tree failed).
backup="$tree/.klpkit-backup"

# Every path a patch names, old and new side (a deleted file must come back too).
patch_paths() { # patch
  sed -n 's/^\(---\|+++\) [^/]*\/\([^[:space:]]*\).*/\2/p' "$1" | grep -v '^dev/null$' | sort -u
}

# Puts the tree back as it was before the patch, and makes every file the patch touched look newer
# than any object built from it.
revert() {
  local rc=0 f
  [ -f "$applied_copy" ] || return 0
  log "reverting the patch"
  if [ -f "$backup/.files" ]; then
    while IFS= read -r f; do
      [ -n "$f" ] || continue
      if [ -f "$backup/$f" ]; then
        cp "$backup/$f" "$f"
      elif [ -e "$f" ]; then
        rm -f "$f"
        rmdir -p --ignore-fail-on-non-empty "$(dirname "$f")" 2>/dev/null || true
      fi
    done < "$backup/.files"
    rm -rf "$backup"
  else
    # Left by a build-pair.sh that kept no copy.
    patch -p1 -R -f -s --no-backup-if-mismatch -r - < "$applied_copy" >&2 || rc=$?
    if ((rc != 0)); then
      log "could not revert $applied_copy cleanly (exit $rc); the tree may be dirty: remove $tree to start again"
      return "$rc"
    fi
    # A diff without /dev/null or an epoch date for a file it adds (`diff -uN --label a/F`)
    # leaves that file behind, empty, when reversed (6.1.176's i915 display/intel_dpcd.h).
    if [ -f "$created_list" ]; then
      while IFS= read -r f; do
        [ -n "$f" ] && [ -e "$f" ] && [ ! -s "$f" ] || continue
        rm -f "$f"
        rmdir -p --ignore-fail-on-non-empty "$(dirname "$f")" 2>/dev/null || true
      done < "$created_list"
    fi
  fi
  rm -f "$created_list"
  for f in "${patched_files[@]}"; do
    [ -e "$f" ] && touch "$f"
  done
  rm -f "$applied_copy"
  return 0
}

# A run killed before its trap could run left its patch applied: undo it first.
if [ -f "$applied_copy" ]; then
  log "a previous run left a patch applied"
  mapfile -t patched_files < <(patch_paths "$applied_copy")
  revert || die "cannot restore the tree"
  patched_files=()
fi
if pair_complete; then answer_cached; fi

# Original objects of klpkit's own trees are cached by what they are built from (the tree's
# stamp of its inputs, the make variables and flags): a tree is always reverted to its pristine
# source, so the same object comes out of it every time, and a later patch to the same file
# compiles only its patched build. A user's tree may be edited at any time: never cached.
orig_cache=""
if [ -f "$tree/.klpkit-ready" ]; then
  orig_cache="$tree.orig-objects/$(printf '%s\n%s\n%s\n' "$(cat "$tree/.klpkit-ready")" "${MAKE_VARS[*]}" "$KCFLAGS_PAIR" | sha256sum | cut -c1-16)"
fi

preprocess_state() { # state
  local state="$1" o t recipes line lines=() targets=()
  for o in "${objs[@]}"; do targets+=("${o%.o}.i"); done
  recipes="$(make -n -j1 "${MAKE_VARS[@]}" KCFLAGS="$KCFLAGS_PAIR" "${targets[@]}" 2>&1)" ||
    die "make -n failed for the $state preprocessing: $(tail -3 <<< "$recipes")" 2
  for t in "${targets[@]}"; do
    rm -f "$t"
    # The last of them: kbuild's double descent into drivers/char/ipmi/ compiles a file first as
    # built-in, then as the module it is ("CC [M]"), and the module's command is what stays.
    line="$(grep -F -e "-o $t " <<< "$recipes" | tail -n 1)"
    [ -n "$line" ] || die "kbuild printed no command that preprocesses $t"
    # -P: no line markers, which only say where text came from (a third of a .i's lines).
    lines+=("${line/ -E / -E -P }")
  done
  log "preprocess ${#targets[@]} file(s) ($state)"
  local t0=$SECONDS rc=0
  # A file that does not preprocess alone is left out, not fatal: fs/smb/server/asn1.c includes a
  # header kbuild generates only as a prerequisite of asn1.o. klp build compiles such a file.
  printf '%s\0' "${lines[@]}" | xargs -0 -P2 -n1 bash -c >&2 || rc=$?
  ((rc == 0 || rc == 123)) || die "preprocessing stopped for the $state build (xargs exit $rc)"
  for t in "${targets[@]}"; do
    [ -f "$t" ] || { log "$t: not preprocessed ($state)"; continue; }
    mkdir -p "$outdir/$state/$(dirname "$t")"
    mv "$t" "$outdir/$state/$t"
  done
  log "$state preprocessed in $((SECONDS - t0)) s"
}

build() { # state
  local state="$1" o todo=()
  if [ "$preprocess" = 1 ]; then preprocess_state "$state"; return; fi
  for o in "${objs[@]}"; do
    if [ "$state" = orig ] && [ -n "$orig_cache" ] && [ -s "$orig_cache/$o" ]; then
      mkdir -p "$outdir/orig/$(dirname "$o")"
      cp "$orig_cache/$o" "$outdir/orig/$o"
    else
      todo+=("$o")
    fi
  done
  ((${#todo[@]})) || { log "$state: every object cached"; return 0; }
  for o in "${todo[@]}"; do rm -f "$o"; done
  log "make ${todo[*]} ($state)"
  local t0=$SECONDS
  # A compile error is the patch's (or the tree's) problem, not a refusal: exit 2 with the
  # compiler's own messages, which make printed to stderr above.
  make -j1 "${MAKE_VARS[@]}" KCFLAGS="$KCFLAGS_PAIR" "${todo[@]}" >&2 || die "make failed for the $state build (the compiler's messages are above)" 2
  for o in "${todo[@]}"; do
    [ -f "$o" ] || die "make did not produce $o ($state)"
    mkdir -p "$outdir/$state/$(dirname "$o")"
    cp "$o" "$outdir/$state/$o"
    # kbuild's record of every file the compile read (deps_<obj> in .<obj>.cmd), kept beside it.
    local cmd; cmd="$(dirname "$o")/.$(basename "$o").cmd"
    [ ! -f "$cmd" ] || cp "$cmd" "$outdir/$state/$cmd"
    if [ "$state" = orig ] && [ -n "$orig_cache" ]; then
      mkdir -p "$orig_cache/$(dirname "$o")"
      cp "$o" "$orig_cache/$o.tmp" && mv "$orig_cache/$o.tmp" "$orig_cache/$o"
    fi
  done
  log "$state built in $((SECONDS - t0)) s"
}

rm -f "$pair_stamp" "$notes"
if [ -n "$patch_file" ]; then
  # No fuzz: a hunk whose context does not match this source exactly was written for other code.
  patch -p1 --dry-run -f --fuzz=0 -s -r - < "$patch_file" >&2 ||
    die "$patch_arg does not apply exactly to $tree (patch -p1 --fuzz=0 --dry-run failed: its context lines must match this kernel's source; rebase it)" 2
fi

build orig

if [ -n "$patch_file" ]; then
  trap 'revert || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  rm -rf "$backup"
  mkdir -p "$backup"
  mapfile -t patched_files < <(patch_paths "$patch_file")
  for f in "${patched_files[@]}"; do
    [ -f "$f" ] || continue
    mkdir -p "$backup/$(dirname "$f")"
    cp "$f" "$backup/$f"
  done
  printf '%s\n' "${patched_files[@]}" > "$backup/.files"
  # From here on the tree may differ from its source: the copy is complete, and revert uses it.
  cp "$patch_file" "$applied_copy"
  out="$(patch -p1 -f --fuzz=0 --no-backup-if-mismatch -r - < "$applied_copy")" || {
    printf '%s\n' "$out" >&2
    die "applying $patch_arg failed"
  }
  # Hunks that landed elsewhere than their line numbers say: klp build reports them, since the
  # same context can stand in two functions (6.12's addrconf.c has net-ipv6-disable's twice).
  printf '%s\n' "$out" | grep -E '^Hunk #[0-9]+ succeeded at' > "$notes" || true
  log "applied $patch_arg (${patched_files[*]})"
fi

[ "$orig_only" = 1 ] || build patched

if [ -n "$patch_file" ]; then
  revert || die "cannot restore the tree"
  trap - EXIT INT TERM
fi

want_stamp > "$pair_stamp.tmp"
mv "$pair_stamp.tmp" "$pair_stamp"
log "pair ready: $outdir"
cat "$notes" 2>/dev/null || true
