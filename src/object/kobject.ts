// The kernel-object view of one ELF file: its functions, its data objects, what each
// relocation refers to, and which special-section entries belong to which function.
import type { Arch, CodeView } from "../arch/index.js";
import * as C from "../elf/constants.js";
import type { ElfFile } from "../elf/reader.js";
import type { ElfRela, ElfSection, ElfSymbol } from "../elf/types.js";
import { correlationKey, isFreshCopy } from "./names.js";
import { SPECIAL_TABLES_6_1_X86, type SpecialTable } from "./special.js";

/** A function or data object: a named, sized range of one section. */
export interface Entity {
  readonly sym: ElfSymbol;
  readonly name: string;
  readonly key: string;
  readonly section: ElfSection;
  /** Its bytes (empty for SHT_NOBITS). */
  readonly bytes: Buffer;
  /** Relocations inside its range, offsets relative to the entity's start. */
  readonly relocs: readonly ElfRela[];
}

export interface KFunction extends Entity { readonly kind: "function" }
export interface KData extends Entity {
  readonly kind: "data";
  readonly bss: boolean;
  /** Gets a fresh copy in a livepatch rather than sharing the running kernel's (once-flags, __func__ …). */
  readonly freshCopy: boolean;
}

/** What a relocation refers to, independent of how the assembler spelled it. */
export type Referent =
  /** A symbol (a section-symbol reference resolved to the symbol covering it); offset from its start. */
  | { readonly kind: "sym"; readonly sym: ElfSymbol; readonly offset: number }
  /** A string in a merged string section, by content. */
  | { readonly kind: "str"; readonly section: ElfSection; readonly text: string; readonly start: number; readonly offset: number }
  /** A place in a section no symbol covers (anonymous constants). */
  | { readonly kind: "sec"; readonly section: ElfSection; readonly offset: number }
  | { readonly kind: "none" };

/** One special-section entry and the function it belongs to. */
export interface SpecialEntry {
  readonly table: SpecialTable;
  readonly section: ElfSection;
  readonly index: number;
  /** Offset of the owning code inside its function. */
  readonly at: number;
}

const EXACT = [0] as const;
const isStrings = (s: ElfSection) => (s.flags & (C.SHF_MERGE | C.SHF_STRINGS)) === (C.SHF_MERGE | C.SHF_STRINGS);

export class KObject {
  readonly functions: KFunction[] = [];
  readonly data: KData[] = [];
  readonly byIndex = new Map<number, KFunction | KData>();
  /** The source file the compiler named in the first STT_FILE symbol. */
  readonly sourceFile: string | undefined;
  /** Exported symbol names (EXPORT_SYMBOL*), with the ksymtab section that exports them. */
  readonly exports = new Map<string, string>();
  private readonly covering = new Map<number, ElfSymbol[]>();
  private ownersCache: Map<number, Set<number>> | undefined;
  private specialCache: Map<number, SpecialEntry[]> | undefined;

  constructor(readonly elf: ElfFile, readonly arch: Arch) {
    this.sourceFile = elf.symbols.find((s) => s.type === C.STT_FILE)?.name;
    for (const sym of elf.symbols) {
      if (sym.shndx === C.SHN_UNDEF || sym.shndx >= C.SHN_LORESERVE) continue;
      if (sym.type !== C.STT_FUNC && sym.type !== C.STT_OBJECT) continue;
      const section = elf.sections[sym.shndx]!;
      const list = this.covering.get(sym.shndx) ?? [];
      list.push(sym);
      this.covering.set(sym.shndx, list);
      const nobits = section.type === C.SHT_NOBITS;
      if (!nobits && sym.value + sym.size > section.size) {
        throw elf.bad(`symbol ${sym.name} (${sym.size} bytes at ${sym.value}) lies past the end of section ${section.name}`);
      }
      const bytes = nobits ? Buffer.alloc(0) : elf.data(sym.shndx).subarray(sym.value, sym.value + sym.size);
      const relocs = this.relocsIn(sym.shndx, sym.value, sym.size);
      const base = { sym, name: sym.name, key: correlationKey(sym.name), section, bytes, relocs };
      const e: KFunction | KData = sym.type === C.STT_FUNC
        ? { ...base, kind: "function" }
        : { ...base, kind: "data", bss: nobits, freshCopy: isFreshCopy(sym.name, section.name) };
      if (e.kind === "function") this.functions.push(e); else this.data.push(e);
      this.byIndex.set(sym.index, e);
    }
    for (const list of this.covering.values()) list.sort((a, b) => a.value - b.value);
    for (const s of elf.sections) {
      const m = /^___ksymtab(_gpl|_unused|_unused_gpl)?\+(.+)$/.exec(s.name);
      if (m) this.exports.set(m[2]!, s.name);
    }
  }

  get path(): string {
    return this.elf.path;
  }

  private relocsIn(shndx: number, start: number, size: number): ElfRela[] {
    const all = this.elf.relocations(shndx);
    let lo = 0, hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.offset < start) lo = mid + 1; else hi = mid;
    }
    const out: ElfRela[] = [];
    for (let i = lo; i < all.length && all[i]!.offset < start + size; i++) {
      const r = all[i]!;
      out.push(start === 0 ? r : { ...r, offset: r.offset - start });
    }
    return out;
  }

  /** A function's code with a way to name what each relocation points at, for the arch layer. */
  codeView(f: Entity): CodeView {
    const byOffset = new Map(f.relocs.map((r) => [r.offset, r] as const));
    return {
      code: f.bytes,
      relocs: f.relocs,
      calleeAt: (offset) => {
        const r = byOffset.get(offset);
        if (!r) return undefined;
        const ref = this.referent(r, f.section);
        return ref.kind === "sym" ? ref.sym.name : undefined;
      },
    };
  }

  /**
   * What relocation `r`, found in section `from`, refers to. In code a PC-relative field is
   * relative to the end of its instruction (`call foo` is `foo-4`); in data and special tables
   * it is relative to the field itself (`.long insn - .` in `__bug_table`).
   */
  referent(r: ElfRela, from: ElfSection): Referent {
    const sym = this.elf.symbols[r.symbol];
    if (!sym || r.symbol === 0) return { kind: "none" };
    if (sym.type !== C.STT_SECTION) return { kind: "sym", sym, offset: r.addend };
    const section = this.elf.sections[sym.shndx];
    if (!section) return { kind: "none" };
    const biases = from.flags & C.SHF_EXECINSTR ? this.arch.pcTargetBiases(r.type) : EXACT;
    if (isStrings(section)) {
      const data = this.elf.data(section.index);
      const at = r.addend + biases[0]!;
      if (at < 0 || at >= data.length) return { kind: "sec", section, offset: r.addend };
      let start = at;
      while (start > 0 && data[start - 1] !== 0) start--;
      let end = data.indexOf(0, at);
      if (end < 0) end = data.length;
      return { kind: "str", section, text: data.toString("latin1", start, end), start, offset: r.addend - start };
    }
    const cover = this.covering.get(section.index);
    if (cover) {
      for (const b of biases) {
        const t = r.addend + b;
        const s = cover.find((c) => t >= c.value && (t < c.value + c.size || (c.size === 0 && t === c.value)));
        if (s) return { kind: "sym", sym: s, offset: r.addend - s.value };
      }
      if (cover.length === 1) return { kind: "sym", sym: cover[0]!, offset: r.addend - cover[0]!.value };
    }
    return { kind: "sec", section, offset: r.addend };
  }

  /** For each data symbol, the functions whose code refers to it. */
  owners(): Map<number, Set<number>> {
    if (this.ownersCache) return this.ownersCache;
    const out = new Map<number, Set<number>>();
    for (const f of this.functions) {
      for (const r of f.relocs) {
        const ref = this.referent(r, f.section);
        if (ref.kind !== "sym" || !this.byIndex.has(ref.sym.index)) continue;
        const set = out.get(ref.sym.index) ?? new Set<number>();
        set.add(f.sym.index);
        out.set(ref.sym.index, set);
      }
    }
    this.ownersCache = out;
    return out;
  }

  /** Special-section entries owned by function `f`, ordered by where they point in it. */
  specialEntries(f: KFunction): readonly SpecialEntry[] {
    if (!this.specialCache) this.specialCache = this.indexSpecialEntries();
    return this.specialCache.get(f.sym.index) ?? [];
  }

  private indexSpecialEntries(): Map<number, SpecialEntry[]> {
    const out = new Map<number, SpecialEntry[]>();
    for (const section of this.elf.sections) {
      const table = SPECIAL_TABLES_6_1_X86.find((t) => t.name === section.name);
      if (!table) continue;
      for (const r of this.elf.relocations(section.index)) {
        if (r.offset % table.entrySize !== table.ownerField) continue;
        const ref = this.referent(r, section);
        if (ref.kind !== "sym") continue;
        const owner = this.byIndex.get(ref.sym.index);
        if (!owner || owner.kind !== "function") continue;
        const list = out.get(owner.sym.index) ?? [];
        list.push({ table, section, index: (r.offset - table.ownerField) / table.entrySize, at: ref.offset });
        out.set(owner.sym.index, list);
      }
    }
    const rank = (t: SpecialTable) => SPECIAL_TABLES_6_1_X86.indexOf(t);
    for (const list of out.values()) list.sort((a, b) => rank(a.table) - rank(b.table) || a.at - b.at);
    return out;
  }

  /** Bytes and relocations of `length` bytes at `start` of a section, offsets relative to `start`. */
  range(section: ElfSection, start: number, length: number): { bytes: Buffer; relocs: ElfRela[] } {
    return { bytes: this.elf.data(section.index).subarray(start, start + length), relocs: this.relocsIn(section.index, start, length) };
  }

  /** Bytes and relocations of one special entry, offsets relative to the entry. */
  entry(e: SpecialEntry): { bytes: Buffer; relocs: ElfRela[] } {
    const start = e.index * e.table.entrySize;
    return {
      bytes: this.elf.data(e.section.index).subarray(start, start + e.table.entrySize),
      relocs: this.relocsIn(e.section.index, start, e.table.entrySize),
    };
  }
}
