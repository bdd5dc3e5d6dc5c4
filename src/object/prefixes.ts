// Function preambles that sit in front of their function in its own `.text.<fn>` section:
// CALL_PADDING's `__pfx_<fn>` (16 NOP bytes objtool --prefix names, 6.2+) and kCFI's
// `__cfi_<fn>` (`mov $<type hash>, %eax` and NOPs, clang -fsanitize=kcfi). They are not
// functions of their own: a carried function carries its preamble, at the same distance.
// Debian's 6.12 objects have the padding but no `__pfx_` symbol yet: gcc's
// -fpatchable-function-entry=16,16 puts 16 NOPs at the start of `.text.<fn>` and the function at
// 16, and objtool, which names them, runs only when vmlinux or the module is linked.
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

/** The byte gcc pads with (-fpatchable-function-entry emits single-byte NOPs). */
const NOP = 0x90;

/**
 * Unnamed CALL_PADDING in front of `fn`: every byte of its section before it is a NOP, and no
 * other symbol starts there (`firstStart`: where the section's first function or object starts;
 * a `.text.<fn>` of -ffunction-sections holds one function).
 */
export function unnamedPadding(fn: ElfSymbol, code: Buffer, firstStart: number): Prefix | undefined {
  if (fn.value === 0 || fn.value > 64 || fn.value > code.length || firstStart < fn.value) return undefined;
  for (let i = 0; i < fn.value; i++) if (code[i] !== NOP) return undefined;
  return { start: 0, symbols: [] };
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
