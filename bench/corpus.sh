#!/usr/bin/env bash
# Builds the benchmark corpus: the same kernel objects compiled from two Debian source versions of
# one kernel line, so that each object gives one real ORIG/PATCHED pair (most unchanged, some
# changed by the stable updates between the two versions).
#
#   bench/corpus.sh [CORPUS_DIR]          (default /work/corpus, or $KLP_CORPUS)
#
#   KLP_CORPUS_VERSIONS  the two linux-source-6.1 versions (default "6.1.190-1 6.1.192-2")
#   KLP_CORPUS_DIRS      kernel directories whose configured C objects may be built (default: some
#                        of kernel/, mm/, fs/ and net/)
#   KLP_CORPUS_MAX       at most this many objects (default 240): every object whose source differs
#                        between the two versions, then others picked evenly across the directories
#   KLP_KERNEL           the kernel release whose /boot config configures both trees
#
# Layout: CORPUS/deb/<version>.deb and its extracted tarball, CORPUS/cache-<version>/ (the tree,
# prepared by scripts/kernel-tree.sh), CORPUS/objects.txt (the object list, shared by both
# versions), CORPUS/pairs/<version>/<obj>. Objects one tree cannot build are left out of the list.
# Each step is skipped when its result is already there; the builds run under `nice -n 10`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-${KLP_CORPUS:-/work/corpus}}"
read -r -a VERSIONS <<< "${KLP_CORPUS_VERSIONS:-6.1.190-1 6.1.192-2}"
read -r -a DIRS <<< "${KLP_CORPUS_DIRS:-kernel kernel/bpf kernel/sched kernel/time mm fs fs/proc fs/ext4 net/core net/ipv4 net/ipv6}"
MAX="${KLP_CORPUS_MAX:-240}"
export KLP_KERNEL="${KLP_KERNEL:-6.1.0-56-amd64}"
KCFLAGS_PAIR="-ffunction-sections -fdata-sections"
MAKE_VARS="CC=gcc-12 KERNELRELEASE=$KLP_KERNEL"

log() { printf 'corpus: %s\n' "$*" >&2; }
die() { printf 'corpus: error: %s\n' "$*" >&2; exit 1; }

((${#VERSIONS[@]} == 2)) || die "KLP_CORPUS_VERSIONS must name two versions"
for v in "${VERSIONS[@]}"; do
  # Pairs of these versions are kept for another purpose; the bench must not use them.
  case "$v" in 6.1.170-3|6.1.176-1|6.12.107*|6.12.117*) die "version $v is reserved; pick another" ;; esac
done
mkdir -p "$CORPUS/deb"

# The prepared tree of one source version; prints its path.
tree_of() {
  local v="$1" deb="$CORPUS/deb/linux-source-6.1_${1}_all.deb" x="$CORPUS/deb/$1"
  if [ ! -f "$deb" ]; then
    log "apt-get download linux-source-6.1=$v"
    (cd "$CORPUS/deb" && apt-get download "linux-source-6.1=$v" >&2)
  fi
  if [ ! -d "$x/usr/src" ]; then
    log "dpkg-deb -x $deb"
    dpkg-deb -x "$deb" "$x"
  fi
  local tarball
  tarball="$(ls "$x"/usr/src/linux-source-*.tar.xz)"
  # The kernel's own compiler and release, as src/target/tree.ts prepares klpkit's trees.
  KLP_TREE_DIR="$CORPUS/cache-$v" KLP_SOURCE_TARBALL="$tarball" KLP_CONFIG="/boot/config-$KLP_KERNEL" \
    KLP_MAKE_VARS="$MAKE_VARS" nice -n 10 bash "$here/scripts/kernel-tree.sh" | tail -n 1
}

# kbuild's obj-y/obj-m of a directory (composite objects expanded), evaluated against the config.
list_mk="$(mktemp)"
trap 'rm -f "$list_mk"' EXIT
cat > "$list_mk" <<'EOF'
include include/config/auto.conf
include $(if $(wildcard $(src)/Kbuild),$(src)/Kbuild,$(src)/Makefile)
expand = $(foreach o,$(1),$(if $(filter %/,$(o)),,$(if $(strip $($(o:.o=-y)) $($(o:.o=-objs))),$($(o:.o=-y)) $($(o:.o=-objs)),$(o))))
klp-objects:
	@echo $(sort $(call expand,$(obj-y) $(obj-m)))
EOF

configured() { # tree dir
  make -s --no-print-directory -C "$1" -f "$list_mk" src="$2" obj="$2" srctree=. klp-objects 2>/dev/null |
    tr ' ' '\n' | grep -v / | grep '\.o$' | while read -r o; do
      [ -f "$1/$2/${o%.o}.c" ] && printf '%s/%s\n' "$2" "$o"
    done
}

trees=()
for v in "${VERSIONS[@]}"; do trees+=("$(tree_of "$v")"); done

if [ ! -s "$CORPUS/objects.txt" ]; then
  # Objects both trees configure; those whose C source changed between the versions first.
  for d in "${DIRS[@]}"; do
    comm -12 <(configured "${trees[0]}" "$d" | sort) <(configured "${trees[1]}" "$d" | sort)
  done > "$CORPUS/configured.txt"
  : > "$CORPUS/changed.txt"
  while read -r o; do
    cmp -s "${trees[0]}/${o%.o}.c" "${trees[1]}/${o%.o}.c" || printf '%s\n' "$o" >> "$CORPUS/changed.txt"
  done < "$CORPUS/configured.txt"
  grep -vxF -f "$CORPUS/changed.txt" "$CORPUS/configured.txt" > "$CORPUS/unchanged.txt" || true
  n_changed=$(wc -l < "$CORPUS/changed.txt") n_rest=$(wc -l < "$CORPUS/unchanged.txt")
  want=$((MAX > n_changed ? MAX - n_changed : 0))
  { head -n "$MAX" "$CORPUS/changed.txt"
    # Every k-th of the others, so that each directory is represented.
    awk -v n="$n_rest" -v w="$want" 'w > 0 && int((NR - 1) * w / n) != int(NR * w / n)' "$CORPUS/unchanged.txt"
  } > "$CORPUS/objects.txt.tmp"
  mv "$CORPUS/objects.txt.tmp" "$CORPUS/objects.txt"
fi
mapfile -t objs < "$CORPUS/objects.txt"
log "${#objs[@]} objects in $CORPUS/objects.txt"

for i in 0 1; do
  v="${VERSIONS[$i]}" tree="${trees[$i]}" out="$CORPUS/pairs/$v"
  if [ -f "$out/.complete" ]; then log "$v: built"; continue; fi
  log "$v: make -k -j2 ${#objs[@]} objects in $tree (nice 10)"
  (cd "$tree" && nice -n 10 make -k -j2 $MAKE_VARS KCFLAGS="$KCFLAGS_PAIR" "${objs[@]}" >/dev/null 2>"$CORPUS/make-$v.log") ||
    log "$v: make reported errors (see $CORPUS/make-$v.log); objects it could not build are dropped"
  for o in "${objs[@]}"; do
    if [ -f "$tree/$o" ]; then mkdir -p "$out/$(dirname "$o")"; cp "$tree/$o" "$out/$o"; fi
  done
  touch "$out/.complete"
done

# The pair list the bench reads: objects both versions produced.
for o in "${objs[@]}"; do
  [ -f "$CORPUS/pairs/${VERSIONS[0]}/$o" ] && [ -f "$CORPUS/pairs/${VERSIONS[1]}/$o" ] &&
    printf '%s\t%s\t%s\n' "$o" "$CORPUS/pairs/${VERSIONS[0]}/$o" "$CORPUS/pairs/${VERSIONS[1]}/$o"
done > "$CORPUS/pairs.tsv"
log "$(wc -l < "$CORPUS/pairs.tsv") pairs listed in $CORPUS/pairs.tsv"
