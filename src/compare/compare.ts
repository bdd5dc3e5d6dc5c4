// Decides, for each correlated pair, whether the patched entity differs from the original in
// a way that matters: bytes outside relocation fields, what each relocation refers to, and the
// semantic special-section entries of a function. A pure `__LINE__` shift is not a change.
import type { Correlation } from "../correlate/correlate.js";
import type { ElfRela, ElfSection } from "../elf/types.js";
import type { SpecialTable } from "../object/special.js";

interface EntryView { bytes: Buffer; relocs: ElfRela[]; section: ElfSection }
import type { KData, KFunction, KObject } from "../object/kobject.js";
import { describeReferent, sameReferent } from "./referents.js";

export type Verdict =
  | { readonly same: true; readonly lineOnly: boolean }
  | { readonly same: false; readonly reason: string };

const SAME: Verdict = { same: true, lineOnly: false };
const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Offset of the first differing byte outside relocation fields and ignored ranges, or -1.
 * `masks` must be sorted by offset (relocations are).
 */
function firstDifference(a: Buffer, b: Buffer, masks: readonly (readonly [number, number])[]): number {
  const n = Math.min(a.length, b.length);
  if (!masks.length) return a.equals(b) ? -1 : a.length === b.length ? firstByte(a, b, 0, n) : n;
  let at = 0;
  for (const [start, len] of [...masks, [n, 0] as const]) {
    if (start > at) {
      const end = Math.min(start, n);
      if (!a.subarray(at, end).equals(b.subarray(at, end))) return firstByte(a, b, at, end);
    }
    at = Math.max(at, start + len);
  }
  return a.length === b.length ? -1 : n;
}

function firstByte(a: Buffer, b: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return i;
  return to;
}

export class Comparer {
  constructor(readonly o: KObject, readonly p: KObject, readonly corr: Correlation) {}

  private relocMasks(relocs: readonly ElfRela[]): [number, number][] {
    return relocs.map((r) => [r.offset, this.o.arch.relocWidth(r.type)]);
  }

  /** Relocations of `a` and `b` (each relative to its entity) agree in place, type and referent. */
  private relocsDiffer(as: ElfSection, ar: readonly ElfRela[], bs: ElfSection, br: readonly ElfRela[], what: string): string | undefined {
    if (ar.length !== br.length) return `${what}: ${ar.length} relocations, now ${br.length}`;
    for (let i = 0; i < ar.length; i++) {
      const x = ar[i]!, y = br[i]!;
      if (x.offset !== y.offset || x.type !== y.type) return `${what}: code differs at +${hex(Math.min(x.offset, y.offset))}`;
      const rx = this.o.referent(x, as), ry = this.p.referent(y, bs);
      if (!sameReferent(this.o, this.p, this.corr, rx, ry)) {
        return `${what} +${hex(x.offset)}: refers to ${describeReferent(rx)}, now ${describeReferent(ry)}`;
      }
    }
    return undefined;
  }

  compareFunction(a: KFunction, b: KFunction): Verdict {
    if (a.bytes.length !== b.bytes.length) return { same: false, reason: `code size ${a.bytes.length} → ${b.bytes.length} bytes` };
    const why = this.relocsDiffer(a.section, a.relocs, b.section, b.relocs, "code");
    if (why) return { same: false, reason: why };
    let lineOnly = false;
    const at = firstDifference(a.bytes, b.bytes, this.relocMasks(a.relocs));
    if (at >= 0) {
      if (!this.o.arch.differsOnlyInLineNumbers(this.o.codeView(a), this.p.codeView(b))) {
        return { same: false, reason: `instructions differ at +${hex(at)}` };
      }
      lineOnly = true;
    }
    const special = this.compareSpecial(a, b);
    if (special) return { same: false, reason: special };
    return lineOnly ? { same: true, lineOnly } : SAME;
  }

  /** Bug-table flags, exception fixups, jump labels and alternatives of the function. */
  private compareSpecial(a: KFunction, b: KFunction): string | undefined {
    const ea = this.o.specialEntries(a).filter((e) => e.table.semantic);
    const eb = this.p.specialEntries(b).filter((e) => e.table.semantic);
    for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
      const x = ea[i], y = eb[i];
      if (!x || !y || x.table !== y.table) {
        const t = (x ?? y)!.table.name;
        return `${t} entries differ (${ea.filter((e) => e.table.name === t).length} → ${eb.filter((e) => e.table.name === t).length})`;
      }
      if (x.at !== y.at) return `${x.table.name} entry for +${hex(x.at)} moved to +${hex(y.at)}`;
      const dx = { ...this.o.entry(x), section: x.section }, dy = { ...this.p.entry(y), section: y.section };
      const owner = x.table.ownerField, blob = x.table.blob?.field;
      const what = `${x.table.name} entry at +${hex(x.at)}`;
      // The owner field was matched by position above; compare the other fields.
      const why = this.relocsDiffer(
        x.section, dx.relocs.filter((r) => r.offset !== owner && r.offset !== blob),
        y.section, dy.relocs.filter((r) => r.offset !== owner && r.offset !== blob), what);
      if (why) return why;
      const blobWhy = this.compareBlob(x.table, dx, dy, what);
      if (blobWhy) return blobWhy;
      const masks = [...this.relocMasks(dx.relocs), ...(x.table.ignore ?? [])].sort((m, n) => m[0] - n[0]);
      if (firstDifference(dx.bytes, dy.bytes, masks) >= 0) return `${x.table.name} entry at +${hex(x.at)} differs (e.g. WARN flags)`;
    }
    return undefined;
  }

  /** The replacement code an alternative entry points at, by content. */
  private compareBlob(t: SpecialTable, dx: EntryView, dy: EntryView, what: string): string | undefined {
    if (!t.blob) return undefined;
    const field = t.blob.field;
    const rx = dx.relocs.find((r) => r.offset === field), ry = dy.relocs.find((r) => r.offset === field);
    if (!rx || !ry) return rx || ry ? `${what}: replacement reference differs` : undefined;
    const bx = this.blobOf(this.o, rx, dx.section, dx.bytes[t.blob.lengthAt] ?? 0);
    const by = this.blobOf(this.p, ry, dy.section, dy.bytes[t.blob.lengthAt] ?? 0);
    if (!bx || !by) return `${what}: replacement lies outside its section`;
    const why = this.relocsDiffer(bx.section, bx.relocs, by.section, by.relocs, `${what} replacement`);
    if (why) return why;
    return firstDifference(bx.bytes, by.bytes, this.relocMasks(bx.relocs)) >= 0 ? `${what}: replacement instructions differ` : undefined;
  }

  private blobOf(k: KObject, r: ElfRela, from: ElfSection, length: number) {
    const ref = k.referent(r, from);
    if (ref.kind !== "sec") return undefined;
    return { ...k.range(ref.section, ref.offset, length), section: ref.section };
  }

  compareData(a: KData, b: KData): Verdict {
    if (a.sym.size !== b.sym.size) return { same: false, reason: `size ${a.sym.size} → ${b.sym.size} bytes` };
    if (a.bss !== b.bss) return { same: false, reason: a.bss ? "was zero-initialised, now has an initialiser" : "initialiser removed (now zero-initialised)" };
    const why = this.relocsDiffer(a.section, a.relocs, b.section, b.relocs, "initialiser");
    if (why) return { same: false, reason: why };
    const at = firstDifference(a.bytes, b.bytes, this.relocMasks(a.relocs));
    return at >= 0 ? { same: false, reason: `initialiser differs at byte ${at}` } : SAME;
  }
}
