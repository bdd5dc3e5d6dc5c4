// Whether two relocations, one in each build, refer to the same thing.
import type { Correlation } from "../correlate/correlate.js";
import { SHN_UNDEF } from "../elf/constants.js";
import type { ElfSection, ElfSymbol } from "../elf/types.js";
import { constantPoolEntry, isPrivateObjectSection, locationRanges, privateObjectKind } from "../object/anonymous.js";
import type { KObject, Referent } from "../object/kobject.js";
import type { RelocSpan } from "../elf/relocs.js";
import { Resolved } from "../object/resolved.js";
import { firstDifferenceOutside } from "./bytes.js";

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`);

export function describeReferent(r: Referent): string {
  switch (r.kind) {
    case "sym": return r.offset ? `${r.sym.name}${hex(r.offset)}` : r.sym.name;
    case "str": return JSON.stringify(r.text.length > 40 ? r.text.slice(0, 40) + "…" : r.text);
    case "sec": return `${r.section.name}${hex(r.offset)}`;
    case "none": return "nothing";
  }
}

/** Private objects point at private objects (UBSAN data at its type descriptor); this deep at most. */
const MAX_DEPTH = 8;

export class Referents {
  /** Verdicts on pairs of anonymous places, by "orig section:offset:patched section:offset". */
  private readonly places = new Map<string, boolean>();

  private readonly x = new Resolved();
  private readonly y = new Resolved();

  constructor(readonly o: KObject, readonly p: KObject, readonly corr: Correlation) {}

  /**
   * Relocation `i` of `ra` (in section `sa` of the original) and `j` of `rb` (in `sb` of the
   * patched object) refer to the same thing: `same` of their referents, which are built only
   * when they point at anonymous places.
   */
  sameRelocation(ra: RelocSpan, i: number, sa: ElfSection, rb: RelocSpan, j: number, sb: ElfSection, depth = 0): boolean {
    const x = this.o.resolve(ra.sym(i), ra.type(i), ra.addend(i), sa, this.x);
    const y = this.p.resolve(rb.sym(j), rb.type(j), rb.addend(j), sb, this.y);
    if (x.kind !== y.kind) return false;
    switch (x.kind) {
      case "none": return true;
      case "sym": return this.sameSymbol(x.sym!, x.offset, y.sym!, y.offset);
      case "str": return x.sameString(y);
      // Comparing places recurses into their relocations, reusing x and y.
      case "sec": return this.same(x.referent(), y.referent(), depth);
    }
  }

  private sameSymbol(a: ElfSymbol, aOffset: number, b: ElfSymbol, bOffset: number): boolean {
    if (aOffset !== bOffset) return false;
    const aDefined = a.shndx !== SHN_UNDEF, bDefined = b.shndx !== SHN_UNDEF;
    if (aDefined !== bDefined) return false;
    if (!aDefined) return a.name === b.name;
    if (this.o.byIndex.has(a.index)) return this.corr.o2p.get(a.index) === b.index;
    return a.name === b.name; // a defined label that is neither function nor data
  }

  same(a: Referent, b: Referent, depth = 0): boolean {
    if (a.kind === "none" || b.kind === "none") return a.kind === b.kind;
    if (a.kind === "sym" && b.kind === "sym") return this.sameSymbol(a.sym, a.offset, b.sym, b.offset);
    if (a.kind === "str" && b.kind === "str") return a.text === b.text && a.offset === b.offset;
    if (a.kind === "sec" && b.kind === "sec") {
      if (isPrivateObjectSection(a.section) && isPrivateObjectSection(b.section)) {
        return a.offset === b.offset && privateObjectKind(a.section.name) === privateObjectKind(b.section.name)
          && this.sameBytes(a.section, 0, b.section, 0, depth);
      }
      if (a.section.name !== b.section.name) return false;
      return this.samePlace(a.section, a.target, b.section, b.target, depth);
    }
    return false;
  }

  /**
   * An anonymous place in a shared section: one constant of a constant pool (`.rodata.cst16`),
   * else the bytes up to the next place the object refers to (a fixup in `.fixup`, a constant
   * in `.rodata`), compared with what their relocations refer to.
   */
  private samePlace(sa: ElfSection, ta: number, sb: ElfSection, tb: number, depth: number): boolean {
    const entry = constantPoolEntry(sa);
    if (entry && entry === constantPoolEntry(sb)) {
      const ea = ta - (ta % entry), eb = tb - (tb % entry);
      return ta - ea === tb - eb && this.sameBytes(sa, ea, sb, eb, depth, entry);
    }
    return this.sameBytes(sa, ta, sb, tb, depth);
  }

  /**
   * The bytes of two anonymous places, from `ta`/`tb` to the place's end (or `length` bytes):
   * equal apart from relocation fields and source locations, and their relocations referring
   * to the same things.
   */
  private sameBytes(sa: ElfSection, ta: number, sb: ElfSection, tb: number, depth: number, length?: number): boolean {
    const key = `${sa.index}:${ta}:${sb.index}:${tb}`;
    const known = this.places.get(key);
    if (known !== undefined) return known;
    const whole = isPrivateObjectSection(sa);
    const la = Math.max(0, length ?? (whole ? sa.size : this.o.placeEnd(sa, ta) - ta));
    const lb = Math.max(0, length ?? (whole ? sb.size : this.p.placeEnd(sb, tb) - tb));
    if (depth > MAX_DEPTH || la !== lb || sa.type !== sb.type) return false;
    // Assumed equal while being compared, so a cycle of references does not recurse forever.
    this.places.set(key, true);
    const a = this.o.range(sa, ta, la), b = this.p.range(sb, tb, lb);
    let same = a.relocs.length === b.relocs.length;
    for (let i = 0; same && i < a.relocs.length; i++) {
      const ra = a.relocs, rb = b.relocs;
      same = ra.offset(i) === rb.offset(i) && ra.type(i) === rb.type(i) && this.sameRelocation(ra, i, sa, rb, i, sb, depth + 1);
    }
    if (same) {
      const location = whole ? locationRanges(sa, a.relocs.indexAt(0) === 0, this.o.arch.pointerSize) : [];
      same = firstDifferenceOutside(a.bytes, b.bytes, a.relocs, this.o.arch, location) < 0;
    }
    this.places.set(key, same);
    return same;
  }
}
