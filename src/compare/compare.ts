// Decides, for each correlated pair, whether the patched entity differs from the original in
// a way that matters: bytes outside relocation fields, what each relocation refers to, and the
// semantic special-section entries of a function. A pure `__LINE__` shift is not a change.
import type { Correlation } from "../correlate/correlate.js";
import type { RelocSpan } from "../elf/relocs.js";
import type { ElfSection } from "../elf/types.js";
import { badInput } from "../errors.js";
import type { KData, KFunction, KObject, SpecialEntry } from "../object/kobject.js";
import { firstDifferenceOutside } from "./bytes.js";
import { describeReferent, Referents } from "./referents.js";

export type Verdict =
  | { readonly same: true; readonly lineOnly: boolean }
  | { readonly same: false; readonly reason: string; readonly typeChanged?: boolean };

interface Region { readonly bytes: Buffer; readonly relocs: RelocSpan; readonly section: ElfSection }

const SAME: Verdict = { same: true, lineOnly: false };

/** The bytes and relocations of `f`'s `__pfx_`/`__cfi_` preamble, when it has one. */
function preambleOf(k: KObject, f: KFunction): Region | undefined {
  if (!f.prefix) return undefined;
  return { ...k.range(f.section, f.prefix.start, f.sym.value - f.prefix.start), section: f.section };
}
const hex = (n: number) => `0x${n.toString(16)}`;
const isSemantic = (t: { semantic: boolean }) => t.semantic;

export class Comparer {
  private readonly refs: Referents;

  constructor(readonly o: KObject, readonly p: KObject, readonly corr: Correlation) {
    this.refs = new Referents(o, p, corr);
  }

  /**
   * Relocations of `a` and `b` (each relative to its region) agree in place, type and referent;
   * those at offsets `skip` accepts are left to the caller.
   */
  private relocsDiffer(a: Region, b: Region, what: string, skip?: (offset: number) => boolean): string | undefined {
    const ra = a.relocs, rb = b.relocs;
    if (!skip && ra.length !== rb.length) return `${what}: ${ra.length} relocations, now ${rb.length}`;
    let i = 0, j = 0;
    for (;;) {
      while (i < ra.length && skip?.(ra.offset(i))) i++;
      while (j < rb.length && skip?.(rb.offset(j))) j++;
      if (i >= ra.length || j >= rb.length) break;
      const ox = ra.offset(i), oy = rb.offset(j);
      if (ox !== oy || ra.type(i) !== rb.type(j)) return `${what}: code differs at +${hex(Math.min(ox, oy))}`;
      if (!this.refs.sameRelocation(ra, i, a.section, rb, j, b.section)) {
        const dx = describeReferent(this.o.referentOf(ra.sym(i), ra.type(i), ra.addend(i), a.section));
        const dy = describeReferent(this.p.referentOf(rb.sym(j), rb.type(j), rb.addend(j), b.section));
        return `${what} +${hex(ox)}: ${dx === dy ? `what ${dx} holds differs` : `refers to ${dx}, now ${dy}`}`;
      }
      i++;
      j++;
    }
    const left = (r: RelocSpan, k: number) => {
      let n = 0;
      for (; k < r.length; k++) if (!skip?.(r.offset(k))) n++;
      return n;
    };
    const restA = left(ra, i), restB = left(rb, j);
    if (restA || restB) return `${what}: ${i + restA} relocations, now ${j + restB}`;
    return undefined;
  }

  compareFunction(a: KFunction, b: KFunction): Verdict {
    if (this.kcfiHashChanged(a, b)) return { same: false, reason: `kCFI type hash in __cfi_${b.name} changed`, typeChanged: true };
    if (a.bytes.length !== b.bytes.length) return { same: false, reason: `code size ${a.bytes.length} → ${b.bytes.length} bytes` };
    const why = this.relocsDiffer(a, b, "code");
    if (why) return { same: false, reason: why };
    let lineOnly = false;
    const at = firstDifferenceOutside(a.bytes, b.bytes, a.relocs, this.o.arch);
    if (at >= 0) {
      if (!this.o.arch.differsOnlyInLineNumbers(this.o.codeView(a), this.p.codeView(b))) {
        return { same: false, reason: `instructions differ at +${hex(at)}` };
      }
      lineOnly = true;
    }
    const other = this.comparePrefix(a, b) ?? this.compareSpecial(a, b);
    if (other) return { same: false, reason: other };
    return lineOnly ? { same: true, lineOnly } : SAME;
  }

  /**
   * True when both have a kCFI preamble (`__cfi_<fn>`: NOPs and `mov $<type hash>, %eax`) and its
   * bytes differ: clang hashes the function's prototype, so its type changed — `int f(int)`
   * became `long f(long)` — whatever else changed in its code.
   */
  private kcfiHashChanged(a: KFunction, b: KFunction): boolean {
    const isCfi = (f: KFunction) => f.prefix?.symbols.some((s) => s.name.startsWith("__cfi_")) ?? false;
    if (!isCfi(a) || !isCfi(b)) return false;
    const x = preambleOf(this.o, a)!, y = preambleOf(this.p, b)!;
    return x.bytes.length === y.bytes.length && firstDifferenceOutside(x.bytes, y.bytes, x.relocs, this.o.arch) >= 0;
  }

  /** The `__pfx_`/`__cfi_` preamble: padding, or kCFI's type hash (which moves with the prototype). */
  private comparePrefix(a: KFunction, b: KFunction): string | undefined {
    const x = preambleOf(this.o, a), y = preambleOf(this.p, b);
    if (!x && !y) return undefined;
    if (!x || !y || x.bytes.length !== y.bytes.length) return `preamble ${x?.bytes.length ?? 0} → ${y?.bytes.length ?? 0} bytes`;
    const why = this.relocsDiffer(x, y, "preamble");
    if (why) return why;
    return firstDifferenceOutside(x.bytes, y.bytes, x.relocs, this.o.arch) >= 0 ? "preamble differs (kCFI type hash?)" : undefined;
  }

  /** Bug-table flags, exception fixups, jump labels and alternatives of the function. */
  private compareSpecial(a: KFunction, b: KFunction): string | undefined {
    const ea = this.o.entriesOf(a, isSemantic), eb = this.p.entriesOf(b, isSemantic);
    for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
      const x = ea[i], y = eb[i];
      if (!x || !y || x.table.name !== y.table.name) {
        const t = (x ?? y)!.table.name;
        return `${t} entries differ (${ea.filter((e) => e.table.name === t).length} → ${eb.filter((e) => e.table.name === t).length})`;
      }
      const why = this.compareEntry(x, y);
      if (why) return why;
    }
    return undefined;
  }

  private compareEntry(x: SpecialEntry, y: SpecialEntry): string | undefined {
    const t = x.table;
    if (t.entrySize !== y.table.entrySize || t.ownerField !== y.table.ownerField) {
      throw badInput(undefined, `${this.o.path} and ${this.p.path} disagree on the layout of ${t.name} (${t.entrySize}- and ${y.table.entrySize}-byte entries): objects of different kernels?`);
    }
    if (x.at !== y.at) return `${t.name} entry for +${hex(x.at)} moved to +${hex(y.at)}`;
    const dx = { ...this.o.entry(x), section: x.section }, dy = { ...this.p.entry(y), section: y.section };
    const what = `${t.name} entry at +${hex(x.at)}`;
    // The owner field was matched by position above; the blob by content below.
    const why = this.relocsDiffer(dx, dy, what, (off) => off === t.ownerField || off === t.blob?.field);
    if (why) return why;
    const blobWhy = this.compareBlob(x, y, dx, dy, what);
    if (blobWhy) return blobWhy;
    if (firstDifferenceOutside(dx.bytes, dy.bytes, dx.relocs, this.o.arch, t.ignore) >= 0) return `${what} differs (e.g. WARN flags)`;
    return undefined;
  }

  /** The replacement code an alternative entry points at, by content. */
  private compareBlob(x: SpecialEntry, y: SpecialEntry, dx: Region, dy: Region, what: string): string | undefined {
    const t = x.table;
    if (!t.blob) return undefined;
    const { field } = t.blob;
    const ix = dx.relocs.indexAt(field), iy = dy.relocs.indexAt(field);
    if (ix < 0 || iy < 0) return ix >= 0 || iy >= 0 ? `${what}: replacement reference differs` : undefined;
    // arm64's ALTERNATIVE_CB names a patching callback instead of replacement code
    // (`alt_cb_patch_nops` under every system_supports_*() check): the same callback or not.
    const px = this.o.blob(x), py = this.p.blob(y);
    if (!px || !py) {
      return this.refs.sameRelocation(dx.relocs, ix, dx.section, dy.relocs, iy, dy.section) ? undefined : `${what}: callback or replacement differs`;
    }
    const bx = this.blobRegion(this.o, px), by = this.blobRegion(this.p, py);
    if (!bx || !by) return `${what}: replacement lies outside its section`;
    const why = this.relocsDiffer(bx, by, `${what} replacement`);
    if (why) return why;
    return firstDifferenceOutside(bx.bytes, by.bytes, bx.relocs, this.o.arch) >= 0 ? `${what}: replacement instructions differ` : undefined;
  }

  private blobRegion(k: KObject, b: { section: ElfSection; offset: number; length: number }): Region | undefined {
    if (b.offset < 0 || b.offset + b.length > b.section.size) return undefined;
    return { ...k.range(b.section, b.offset, b.length), section: b.section };
  }

  compareData(a: KData, b: KData): Verdict {
    if (a.sym.size !== b.sym.size) return { same: false, reason: `size ${a.sym.size} → ${b.sym.size} bytes` };
    if (a.bss !== b.bss) return { same: false, reason: a.bss ? "was zero-initialised, now has an initialiser" : "initialiser removed (now zero-initialised)" };
    const why = this.relocsDiffer(a, b, "initialiser");
    if (why) return { same: false, reason: why };
    const at = firstDifferenceOutside(a.bytes, b.bytes, a.relocs, this.o.arch);
    return at >= 0 ? { same: false, reason: `initialiser differs at byte ${at}` } : SAME;
  }
}
