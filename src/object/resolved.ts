// What a relocation refers to, in reusable fields. Comparing two builds resolves every relocation
// of every function on both sides (fs/namei.o: ~2 500 code relocations, most to functions and
// data that did not change); a Referent object for each made the garbage collector the largest
// single cost of a `klp diff`. The compare loop resolves into two of these and builds Referents
// only to describe a difference.
import type { ElfSection, ElfSymbol } from "../elf/types.js";
import type { Referent } from "./kobject.js";

export class Resolved {
  kind: Referent["kind"] = "none";
  /** kind "sym": the symbol, `offset` from its start. */
  sym: ElfSymbol | undefined;
  /** kind "str" and "sec": the section pointed into. */
  section: ElfSection | undefined;
  /** "sym": offset from the symbol; "str": from the string's start; "sec": the addend. */
  offset = 0;
  /** kind "str": the string's bytes are [start, end) of `data`. */
  start = 0;
  end = 0;
  data: Buffer | undefined;
  /** kind "sec": where the reference points (past the instruction for PC-relative code). */
  target = 0;

  none(): this {
    this.kind = "none";
    return this;
  }
  toSym(sym: ElfSymbol, offset: number): this {
    this.kind = "sym";
    this.sym = sym;
    this.offset = offset;
    return this;
  }
  toStr(section: ElfSection, data: Buffer, start: number, end: number, offset: number): this {
    this.kind = "str";
    this.section = section;
    this.data = data;
    this.start = start;
    this.end = end;
    this.offset = offset;
    return this;
  }
  toSec(section: ElfSection, offset: number, target: number): this {
    this.kind = "sec";
    this.section = section;
    this.offset = offset;
    this.target = target;
    return this;
  }

  /** As a Referent of its own (for messages, and for the rare comparisons that keep one). */
  referent(): Referent {
    switch (this.kind) {
      case "none": return { kind: "none" };
      case "sym": return { kind: "sym", sym: this.sym!, offset: this.offset };
      case "str": return { kind: "str", section: this.section!, text: this.data!.toString("latin1", this.start, this.end), start: this.start, offset: this.offset };
      case "sec": return { kind: "sec", section: this.section!, offset: this.offset, target: this.target };
    }
  }

  /** The same string as `o`, at the same offset into it: bytes compared in place. */
  sameString(o: Resolved): boolean {
    return this.offset === o.offset && this.end - this.start === o.end - o.start
      && this.data!.compare(o.data!, o.start, o.end, this.start, this.end) === 0;
  }
}
