// Which entity covers a place in a section: every function and data object of one object file,
// sorted by section and start, in one set of arrays. One Cover per section, each with three
// arrays, was a tenth of what reading kernel/params.o allocated: with -ffunction-sections almost
// every section holds one symbol.
import type { ElfSymbol } from "../elf/types.js";

export class Covers {
  /** Entities sorted by (section, start, symbol index). */
  private readonly syms: ElfSymbol[];
  /** Where each one's reach starts (a function's includes its prefix). */
  private readonly starts: number[];
  /** maxEnd[i]: the furthest end among the section's entities up to i, so a lookup knows when to stop looking back. */
  private readonly maxEnd: number[];
  /** Section s holds entries [first[s], first[s + 1]). */
  private readonly first: Uint32Array;

  /** `syms[i]` reaches from `starts[i]` to its end; `sections` is the object's section count. */
  constructor(syms: readonly ElfSymbol[], starts: readonly number[], sections: number) {
    const order = Array.from(syms.keys()).sort((a, b) =>
      syms[a]!.shndx - syms[b]!.shndx || starts[a]! - starts[b]! || syms[a]!.index - syms[b]!.index);
    this.syms = order.map((i) => syms[i]!);
    this.starts = order.map((i) => starts[i]!);
    this.maxEnd = new Array<number>(order.length);
    this.first = new Uint32Array(sections + 1);
    let far = -1;
    for (let k = 0; k < order.length; k++) {
      const s = this.syms[k]!;
      if (k === 0 || this.syms[k - 1]!.shndx !== s.shndx) far = -1;
      far = Math.max(far, s.value + s.size);
      this.maxEnd[k] = far;
      this.first[s.shndx + 1]!++;
    }
    for (let s = 1; s <= sections; s++) this.first[s]! += this.first[s - 1]!;
  }

  /** How many entities section `shndx` holds. */
  count(shndx: number): number {
    return this.first[shndx + 1]! - this.first[shndx]!;
  }

  /** The only entity of a section that holds one. */
  only(shndx: number): ElfSymbol | undefined {
    return this.count(shndx) === 1 ? this.syms[this.first[shndx]!] : undefined;
  }

  /** Where the entities of section `shndx` start. */
  startsIn(shndx: number): number[] {
    return this.starts.slice(this.first[shndx]!, this.first[shndx + 1]!);
  }

  /** The first entity (in address order) whose reach holds `t`; a zero-size one holds its own address. */
  covering(shndx: number, t: number): ElfSymbol | undefined {
    const base = this.first[shndx]!;
    let lo = base, hi = this.first[shndx + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= t) lo = mid + 1; else hi = mid;
    }
    let found: ElfSymbol | undefined;
    for (let i = lo - 1; i >= base && (this.maxEnd[i]! > t || this.starts[i] === t); i--) {
      const s = this.syms[i]!;
      if ((t >= this.starts[i]! && t < s.value + s.size) || (s.size === 0 && t === s.value)) found = s;
    }
    return found;
  }
}
