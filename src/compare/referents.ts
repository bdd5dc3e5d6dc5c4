// Whether two relocations, one in each build, refer to the same thing.
import type { Correlation } from "../correlate/correlate.js";
import { SHN_UNDEF } from "../elf/constants.js";
import type { ElfSection } from "../elf/types.js";
import { constantPoolEntry, isPrivateObjectSection, locationRanges, privateObjectKind } from "../object/anonymous.js";
import type { KObject, Referent } from "../object/kobject.js";
import { firstDifference, relocMasks } from "./bytes.js";

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`);

export function describeReferent(r: Referent): string {
  switch (r.kind) {
    case "sym": return r.offset ? `${r.sym.name}${hex(r.offset)}` : r.sym.name;
    case "str": return JSON.stringify(r.text.length > 40 ? r.text.slice(0, 40) + "…" : r.text);
    case "sec": return `${r.section.name}${hex(r.offset)}`;
    case "none": return "nothing";
  }
}

/** A window of a shared section's bytes stands for an anonymous place in it (no symbol covers it). */
const ANON_WINDOW = 32;
/** Private objects point at private objects (UBSAN data at its type descriptor); this deep at most. */
const MAX_DEPTH = 8;

export class Referents {
  /** Verdicts on pairs of private object sections, by "orig index:patched index". */
  private readonly objects = new Map<string, boolean>();

  constructor(readonly o: KObject, readonly p: KObject, readonly corr: Correlation) {}

  same(a: Referent, b: Referent, depth = 0): boolean {
    if (a.kind === "none" || b.kind === "none") return a.kind === b.kind;
    if (a.kind === "sym" && b.kind === "sym") {
      if (a.offset !== b.offset) return false;
      const aDefined = a.sym.shndx !== SHN_UNDEF, bDefined = b.sym.shndx !== SHN_UNDEF;
      if (aDefined !== bDefined) return false;
      if (!aDefined) return a.sym.name === b.sym.name;
      if (this.o.byIndex.has(a.sym.index)) return this.corr.o2p.get(a.sym.index) === b.sym.index;
      return a.sym.name === b.sym.name; // a defined label that is neither function nor data
    }
    if (a.kind === "str" && b.kind === "str") return a.text === b.text && a.offset === b.offset;
    if (a.kind === "sec" && b.kind === "sec") {
      if (isPrivateObjectSection(a.section) && isPrivateObjectSection(b.section)) {
        return a.offset === b.offset && privateObjectKind(a.section.name) === privateObjectKind(b.section.name)
          && this.sameObject(a.section, b.section, depth);
      }
      if (a.section.name !== b.section.name) return false;
      return this.samePlace(a.section, a.target, b.section, b.target);
    }
    return false;
  }

  /** A place in a shared section: one constant of a constant pool, else a window of bytes. */
  private samePlace(sa: ElfSection, ta: number, sb: ElfSection, tb: number): boolean {
    const wa = this.o.elf.data(sa.index), wb = this.p.elf.data(sb.index);
    if (wa.length === 0 && wb.length === 0) return ta === tb;
    const entry = constantPoolEntry(sa);
    if (entry && entry === constantPoolEntry(sb)) {
      const ea = ta - (ta % entry), eb = tb - (tb % entry);
      return ta - ea === tb - eb && wa.subarray(ea, ea + entry).equals(wb.subarray(eb, eb + entry));
    }
    return wa.subarray(ta, ta + ANON_WINDOW).equals(wb.subarray(tb, tb + ANON_WINDOW));
  }

  /** Two private objects (whole sections): same bytes, apart from source locations, and same referents. */
  private sameObject(sa: ElfSection, sb: ElfSection, depth: number): boolean {
    const key = `${sa.index}:${sb.index}`;
    const known = this.objects.get(key);
    if (known !== undefined) return known;
    if (depth > MAX_DEPTH || sa.size !== sb.size || sa.type !== sb.type) return false;
    // Assumed equal while being compared, so a cycle of references does not recurse forever.
    this.objects.set(key, true);
    const ra = this.o.elf.relocTable(sa.index).span(0, sa.size), rb = this.p.elf.relocTable(sb.index).span(0, sb.size);
    let same = ra.length === rb.length;
    for (let i = 0; same && i < ra.length; i++) {
      same = ra.offset(i) === rb.offset(i) && ra.type(i) === rb.type(i)
        && this.same(this.o.referentOf(ra.sym(i), ra.type(i), ra.addend(i), sa), this.p.referentOf(rb.sym(i), rb.type(i), rb.addend(i), sb), depth + 1);
    }
    if (same) {
      const masks = [...relocMasks(ra, this.o.arch), ...locationRanges(sa, ra.indexAt(0) === 0, this.o.arch.pointerSize)];
      same = firstDifference(this.o.elf.data(sa.index), this.p.elf.data(sb.index), masks) < 0;
    }
    this.objects.set(key, same);
    return same;
  }
}
