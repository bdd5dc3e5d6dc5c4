// Function preambles that sit in front of their function in its own `.text.<fn>` section:
// CALL_PADDING's `__pfx_<fn>` (16 NOP bytes objtool --prefix names, 6.2+) and kCFI's
// `__cfi_<fn>` (`mov $<type hash>, %eax` and NOPs, clang -fsanitize=kcfi). They are not
// functions of their own: a carried function carries its preamble, at the same distance.
// Debian's 6.12 objects have the padding but no `__pfx_` symbol yet: gcc's
// -fpatchable-function-entry=16,16 puts 16 NOPs at the start of `.text.<fn>` and the function at
// 16, and objtool, which names them, runs only when vmlinux or the module is linked. Debian's
// arm64 6.12 (DYNAMIC_FTRACE_WITH_CALL_OPS, -fpatchable-function-entry=4,2) has two `nop` words
// in front of each function, where ftrace stores the function's ftrace_ops pointer.
import type { Arch } from "../arch/index.js";
import * as C from "../elf/constants.js";
import type { ElfSymbol } from "../elf/types.js";

export interface Prefix {
  /** Section offset of the first preamble byte. */
  readonly start: number;
  readonly symbols: readonly ElfSymbol[];
}

const PREFIX = /^__(pfx|cfi)_(.+)$/;

export interface Prefixes {
  isPrefix(sym: ElfSymbol): boolean;
  of(fn: ElfSymbol): Prefix | undefined;
}

/**
 * Unnamed padding in front of `fn` (arch.paddingBefore): CALL_PADDING when `fn` is the first
 * function or object of its section (`firstStart`: where the first one starts), arm64's CALL_OPS
 * NOPs also after another one (`prevEnd`: where the code before `fn` ends).
 */
export function unnamedPadding(fn: ElfSymbol, code: Buffer, firstStart: number, prevEnd: number, arch: Arch): Prefix | undefined {
  if (fn.value === 0 || fn.value > code.length) return undefined;
  const n = arch.paddingBefore(code, fn.value, prevEnd, firstStart >= fn.value);
  return n > 0 ? { start: fn.value - n, symbols: [] } : undefined;
}

export function prefixesOf(symbols: readonly ElfSymbol[]): Prefixes {
  const candidates = new Map<string, ElfSymbol[]>();
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    const m = (s.type === C.STT_FUNC || s.type === C.STT_NOTYPE) && s.name.startsWith("__") ? PREFIX.exec(s.name) : null;
    if (!m || s.shndx === C.SHN_UNDEF || s.shndx >= C.SHN_LORESERVE) continue;
    const list = candidates.get(m[2]!) ?? [];
    list.push(s);
    candidates.set(m[2]!, list);
  }
  const byFunction = new Map<number, Prefix>();
  const prefixIndexes = new Set<number>();
  if (candidates.size) {
    for (let i = 0; i < symbols.length; i++) {
      const fn = symbols[i]!;
      if (fn.type !== C.STT_FUNC) continue;
      // In front of the function in its section; clang's kCFI preamble may be followed by
      // -fpatchable-function-entry's NOPs before the function starts.
      const mine = (candidates.get(fn.name) ?? []).filter((p) => p.shndx === fn.shndx && p.value + p.size <= fn.value);
      if (!mine.length) continue;
      byFunction.set(fn.index, { start: Math.min(...mine.map((p) => p.value)), symbols: mine });
      for (const p of mine) prefixIndexes.add(p.index);
    }
  }
  return {
    isPrefix: (sym) => prefixIndexes.has(sym.index),
    of: (fn) => byFunction.get(fn.index),
  };
}

/** Per section, where each function or object ends, sorted by start: for endBefore. */
export function codeEnds(symbols: readonly ElfSymbol[]): Map<number, { start: number; end: number }[]> {
  const out = new Map<number, { start: number; end: number }[]>();
  for (const s of symbols) {
    if ((s.type !== C.STT_FUNC && s.type !== C.STT_OBJECT) || s.shndx === C.SHN_UNDEF || s.shndx >= C.SHN_LORESERVE) continue;
    const list = out.get(s.shndx) ?? [];
    list.push({ start: s.value, end: s.value + s.size });
    out.set(s.shndx, list);
  }
  out.forEach((list) => list.sort((a, b) => a.start - b.start));
  return out;
}

/** Where the code of the symbols starting before `at` ends (0 when none does). */
export function endBefore(list: readonly { start: number; end: number }[] | undefined, at: number): number {
  let end = 0;
  for (const x of list ?? []) {
    if (x.start >= at) break;
    end = Math.max(end, x.end);
  }
  return end;
}
