// Whether two relocations, one in each build, refer to the same thing.
import type { Correlation } from "../correlate/correlate.js";
import { SHN_UNDEF } from "../elf/constants.js";
import type { KObject, Referent } from "../object/kobject.js";

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`);

export function describeReferent(r: Referent): string {
  switch (r.kind) {
    case "sym": return r.offset ? `${r.sym.name}${hex(r.offset)}` : r.sym.name;
    case "str": return JSON.stringify(r.text.length > 40 ? r.text.slice(0, 40) + "…" : r.text);
    case "sec": return `${r.section.name}${hex(r.offset)}`;
    case "none": return "nothing";
  }
}

/** A window of a section's bytes stands for an anonymous place in it (no symbol covers it). */
const ANON_WINDOW = 32;

export function sameReferent(o: KObject, p: KObject, corr: Correlation, a: Referent, b: Referent): boolean {
  if (a.kind === "none" || b.kind === "none") return a.kind === b.kind;
  if (a.kind === "sym" && b.kind === "sym") {
    if (a.offset !== b.offset) return false;
    const aDefined = a.sym.shndx !== SHN_UNDEF, bDefined = b.sym.shndx !== SHN_UNDEF;
    if (aDefined !== bDefined) return false;
    if (!aDefined) return a.sym.name === b.sym.name;
    if (o.byIndex.has(a.sym.index)) return corr.o2p.get(a.sym.index) === b.sym.index;
    return a.sym.name === b.sym.name; // a defined label that is neither function nor data
  }
  if (a.kind === "str" && b.kind === "str") return a.text === b.text && a.offset === b.offset;
  if (a.kind === "sec" && b.kind === "sec") {
    if (a.section.name !== b.section.name) return false;
    const wa = o.elf.data(a.section.index), wb = p.elf.data(b.section.index);
    if (wa.length === 0 && wb.length === 0) return a.offset === b.offset;
    return wa.subarray(a.offset, a.offset + ANON_WINDOW).equals(wb.subarray(b.offset, b.offset + ANON_WINDOW));
  }
  return false;
}
