// Relocations of one section as parallel typed arrays: kernel objects carry tens of thousands
// of them (fs/proc/base.o: ~12 000 in code alone), and one JS object per relocation made the
// garbage collector the largest single cost of a diff. Offsets are sorted ascending. 32-bit
// integer arrays, four views of one buffer: an element read from a Float64Array is a new heap
// number in V8's interpreter, and those, with a buffer per array, were ~5% of what a diff of
// kernel/params.o allocated. Addends that do not fit 32 bits (none in that object) make the
// table keep its addends as doubles.
import type { ElfRela } from "./types.js";

export type Addends = Int32Array | Float64Array;

export class RelocTable {
  static readonly empty = RelocTable.alloc(0, false);

  constructor(
    /** r_offset, relative to the start of the section the relocations apply to. */
    readonly offsets: Uint32Array,
    /** Symbol table index (ELF64_R_SYM). */
    readonly syms: Uint32Array,
    /** Relocation type (ELF64_R_TYPE). */
    readonly types: Uint32Array,
    readonly addends: Addends,
  ) {}

  /** A table of `n` relocations in one buffer; `wide`: some addend needs more than 32 bits. */
  static alloc(n: number, wide: boolean): RelocTable {
    const bytes = wide ? 8 : 4, buf = new ArrayBuffer(n * (bytes + 12));
    // The addends first: a Float64Array has to start 8-aligned.
    const addends = wide ? new Float64Array(buf, 0, n) : new Int32Array(buf, 0, n);
    const at = n * bytes;
    return new RelocTable(new Uint32Array(buf, at, n), new Uint32Array(buf, at + 4 * n, n), new Uint32Array(buf, at + 8 * n, n), addends);
  }

  get wide(): boolean {
    return this.addends instanceof Float64Array;
  }

  get length(): number {
    return this.offsets.length;
  }

  /** Index of the first relocation at or after `offset`. */
  lowerBound(offset: number): number {
    let lo = 0, hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Relocation `i` as a plain object, its offset taken relative to `base`. */
  at(i: number, base = 0): ElfRela {
    return { offset: this.offsets[i]! - base, symbol: this.syms[i]!, type: this.types[i]!, addend: this.addends[i]! };
  }

  /** The relocations inside [start, start + length) of the section. */
  span(start: number, length: number): RelocSpan {
    return new RelocSpan(this, this.lowerBound(start), this.lowerBound(start + length), start);
  }
}

/** A run of one section's relocations, with offsets relative to `base` (an entity's start). */
export class RelocSpan {
  constructor(readonly table: RelocTable, readonly lo: number, readonly hi: number, readonly base: number) {}

  get length(): number {
    return this.hi - this.lo;
  }
  offset(i: number): number {
    return this.table.offsets[this.lo + i]! - this.base;
  }
  sym(i: number): number {
    return this.table.syms[this.lo + i]!;
  }
  type(i: number): number {
    return this.table.types[this.lo + i]!;
  }
  addend(i: number): number {
    return this.table.addends[this.lo + i]!;
  }
  at(i: number): ElfRela {
    return this.table.at(this.lo + i, this.base);
  }
  /** Every relocation as a plain object (for the few places that keep them, e.g. emission). */
  toArray(): ElfRela[] {
    const out: ElfRela[] = new Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.at(i);
    return out;
  }
  /** Index (within the span) of the relocation at `offset`, or -1. */
  indexAt(offset: number): number {
    const i = this.table.lowerBound(offset + this.base);
    return i < this.hi && this.table.offsets[i] === offset + this.base ? i - this.lo : -1;
  }
}
