// The kernel-object view of one ELF file: its functions, its data objects, what each
// relocation refers to, and which special-section entries belong to which function. Built
// lazily: relocations are read per section when a verdict needs them, and a special table is
// resolved and indexed the first time one of its entries is asked for.
import type { Arch, CodeView } from "../arch/index.js";
import * as C from "../elf/constants.js";
import type { ElfFile } from "../elf/reader.js";
import type { RelocSpan } from "../elf/relocs.js";
import type { ElfRela, ElfSection, ElfSymbol } from "../elf/types.js";
import { BySymbol } from "./by-symbol.js";
import { Covers } from "./covers.js";
import { exportsOf } from "./exports.js";
import type { Layouts } from "./layouts.js";
import { correlationKey, isFreshCopy } from "./names.js";
import { codeEnds, endBefore, prefixesOf, unnamedPadding, type Prefix } from "./prefixes.js";
import { Resolved } from "./resolved.js";
import { parallelEntrySize, resolveTable, type TableSample } from "./table-layouts.js";
import { tableRank, tableSpec, type SpecialTable, type TableSpec } from "./tables.js";

export type { Prefix } from "./prefixes.js";

/** A function or data object: a named, sized range of one section. */
export interface Entity {
  readonly sym: ElfSymbol;
  readonly name: string;
  readonly key: string;
  readonly section: ElfSection;
  /** Its bytes (empty for SHT_NOBITS). */
  readonly bytes: Buffer;
  /** Relocations inside its range, offsets relative to the entity's start (read on first use). */
  readonly relocs: RelocSpan;
}

export interface KFunction extends Entity {
  readonly kind: "function";
  /** The preamble in front of it (`__pfx_`/`__cfi_`), which travels with it. */
  readonly prefix: Prefix | undefined;
}
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
  /**
   * A place in a section no symbol covers (anonymous constants, UBSAN data): `offset` is the
   * relocation's addend, `target` where it points (for PC-relative code references, past the
   * instruction's end).
   */
  | { readonly kind: "sec"; readonly section: ElfSection; readonly offset: number; readonly target: number }
  | { readonly kind: "none" };

/** One special-section entry and the function it belongs to. */
export interface SpecialEntry {
  readonly table: SpecialTable;
  readonly section: ElfSection;
  readonly index: number;
  /** Offset of the owning code inside its function (negative inside its prefix). */
  readonly at: number;
}

export interface KObjectOptions {
  /** Struct layouts of the target kernel; without them, tables' layouts are inferred. */
  readonly layouts?: Layouts;
}

const EXACT = [0] as const;
const EMPTY = Buffer.alloc(0);
const isStrings = (s: ElfSection) => (s.flags & (C.SHF_MERGE | C.SHF_STRINGS)) === (C.SHF_MERGE | C.SHF_STRINGS);

abstract class EntityBase {
  private span: RelocSpan | undefined;
  readonly name: string;
  readonly key: string;
  constructor(private readonly elf: ElfFile, readonly sym: ElfSymbol, readonly section: ElfSection, readonly bytes: Buffer) {
    this.name = sym.name;
    this.key = correlationKey(sym.name);
  }
  get relocs(): RelocSpan {
    this.span ??= this.elf.relocTable(this.sym.shndx).span(this.sym.value, this.sym.size);
    return this.span;
  }
}

class FunctionEntity extends EntityBase implements KFunction {
  readonly kind = "function";
  constructor(elf: ElfFile, sym: ElfSymbol, section: ElfSection, bytes: Buffer, readonly prefix: Prefix | undefined) {
    super(elf, sym, section, bytes);
  }
}

class DataEntity extends EntityBase implements KData {
  readonly kind = "data";
  readonly bss: boolean;
  private fresh: boolean | undefined;
  constructor(elf: ElfFile, sym: ElfSymbol, section: ElfSection, bytes: Buffer) {
    super(elf, sym, section, bytes);
    this.bss = section.type === C.SHT_NOBITS;
  }
  /** Asked only of changed data: most objects never match the name patterns at all. */
  get freshCopy(): boolean {
    this.fresh ??= isFreshCopy(this.sym.name, this.section.name);
    return this.fresh;
  }
}

export class KObject {
  readonly functions: KFunction[] = [];
  readonly data: KData[] = [];
  readonly byIndex: BySymbol<KFunction | KData>;
  /** The source file the compiler named in the first STT_FILE symbol. */
  readonly sourceFile: string | undefined;
  /** Exported symbol names (EXPORT_SYMBOL*), with how each is exported. */
  readonly exports: ReadonlyMap<string, string>;
  private readonly covers: Covers;
  /** Prefix symbol index → the function it belongs to. */
  private readonly prefixOwner = new Map<number, KFunction>();
  private readonly specialSections = new Map<string, ElfSection[]>();
  private readonly tables = new Map<number, SpecialTable>();
  private readonly tableIndex = new Map<string, Map<number, SpecialEntry[]>>();
  private ownersCache: Map<number, Set<number>> | undefined;
  /** Where this object's own loops resolve a relocation; read before the next one. */
  private readonly scratch = new Resolved();
  private placesCache: Map<number, number[]> | undefined;

  constructor(readonly elf: ElfFile, readonly arch: Arch, readonly options: KObjectOptions = {}) {
    // Index loops throughout: a short-lived process runs this in V8's interpreter, where for-of
    // allocates an iterator result per element (a third of what a diff allocated).
    const symbols = elf.symbols;
    this.byIndex = new BySymbol(symbols.length);
    let sourceFile: string | undefined;
    for (let i = 0; i < symbols.length && sourceFile === undefined; i++) if (symbols[i]!.type === C.STT_FILE) sourceFile = symbols[i]!.name;
    this.sourceFile = sourceFile;
    const prefixes = prefixesOf(symbols);
    const firstStarts = new Map<number, number>();
    for (let i = 0; i < symbols.length; i++) {
      const s = symbols[i]!;
      if ((s.type === C.STT_FUNC || s.type === C.STT_OBJECT) && s.shndx !== C.SHN_UNDEF && s.shndx < C.SHN_LORESERVE) {
        firstStarts.set(s.shndx, Math.min(firstStarts.get(s.shndx) ?? Infinity, s.value));
      }
    }
    // Where code ends before a function that does not start its section: asked only then.
    let ends: ReturnType<typeof codeEnds> | undefined;
    const covered: ElfSymbol[] = [], starts: number[] = [];
    for (let i = 0; i < symbols.length; i++) {
      const sym = symbols[i]!;
      if (sym.shndx === C.SHN_UNDEF || sym.shndx >= C.SHN_LORESERVE) continue;
      if (sym.type !== C.STT_FUNC && sym.type !== C.STT_OBJECT) continue;
      if (prefixes.isPrefix(sym)) continue;
      const section = elf.sections[sym.shndx]!;
      const nobits = section.type === C.SHT_NOBITS;
      if (!nobits && sym.value + sym.size > section.size) {
        throw elf.bad(`symbol ${sym.name} (${sym.size} bytes at ${sym.value}) lies past the end of section ${section.name}`);
      }
      const bytes = nobits ? EMPTY : elf.bytes(sym.shndx, sym.value, sym.value + sym.size);
      // Most functions start their section (sym.value 0), where no padding can be in front.
      const prefix = sym.type !== C.STT_FUNC ? undefined
        : prefixes.of(sym) ?? (section.flags & C.SHF_EXECINSTR && sym.value !== 0 ? unnamedPadding(sym, elf.data(sym.shndx), firstStarts.get(sym.shndx) ?? 0, endBefore((ends ??= codeEnds(symbols)).get(sym.shndx), sym.value), this.arch) : undefined);
      const e = sym.type === C.STT_FUNC ? new FunctionEntity(elf, sym, section, bytes, prefix) : new DataEntity(elf, sym, section, bytes);
      if (e.kind === "function") this.functions.push(e); else this.data.push(e);
      this.byIndex.set(sym.index, e);
      if (e.kind === "function" && prefix) for (let k = 0; k < prefix.symbols.length; k++) this.prefixOwner.set(prefix.symbols[k]!.index, e);
      covered.push(sym);
      starts.push(prefix?.start ?? sym.value);
    }
    this.covers = new Covers(covered, starts, elf.sections.length);
    for (let i = 0; i < elf.sections.length; i++) {
      const s = elf.sections[i]!;
      if (!tableSpec(s.name)) continue;
      const same = this.specialSections.get(s.name);
      if (same) same.push(s); else this.specialSections.set(s.name, [s]);
    }
    this.exports = exportsOf(elf);
  }

  get path(): string {
    return this.elf.path;
  }

  /** A function's code with a way to name what each relocation points at, for the arch layer. */
  codeView(f: KFunction): CodeView {
    const object = this;
    let sites: number[] | undefined;
    return {
      code: f.bytes,
      calleeAt(offset) {
        const i = f.relocs.indexAt(offset);
        if (i < 0) return undefined;
        const ref = object.resolve(f.relocs.sym(i), f.relocs.type(i), f.relocs.addend(i), f.section, object.scratch);
        return ref.kind === "sym" ? ref.sym!.name : undefined;
      },
      refersToAny(names) {
        const rs = f.relocs;
        for (let i = 0; i < rs.length; i++) {
          const ref = object.resolve(rs.sym(i), rs.type(i), rs.addend(i), f.section, object.scratch);
          if (ref.kind === "sym" && names.has(ref.sym!.name)) return true;
        }
        return false;
      },
      get ftraceSites() {
        sites ??= object.entriesOf(f, (t) => t.kind === "sites" && t.ftrace === true).map((e) => e.at);
        return sites;
      },
    };
  }

  /**
   * What relocation `r`, found in section `from`, refers to. In code a PC-relative field is
   * relative to the end of its instruction (`call foo` is `foo-4`); in data and special tables
   * it is relative to the field itself (`.long insn - .` in `__bug_table`).
   */
  referent(r: ElfRela, from: ElfSection): Referent {
    return this.referentOf(r.symbol, r.type, r.addend, from);
  }

  referentOf(symIndex: number, type: number, addend: number, from: ElfSection): Referent {
    return this.resolve(symIndex, type, addend, from, new Resolved()).referent();
  }

  /** What referentOf says, written into `r` (see resolved.ts): no allocation. */
  resolve(symIndex: number, type: number, addend: number, from: ElfSection, r: Resolved): Resolved {
    const sym = this.elf.symbols[symIndex];
    if (!sym || symIndex === 0) return r.none();
    const owner = this.prefixOwner.get(symIndex);
    // A reference to `__pfx_foo` is one to foo's preamble: foo at a negative offset.
    if (owner) return r.toSym(owner.sym, addend + sym.value - owner.sym.value);
    if (sym.type !== C.STT_SECTION) return r.toSym(sym, addend);
    const section = this.elf.sections[sym.shndx];
    if (!section) return r.none();
    const biases = from.flags & C.SHF_EXECINSTR ? this.arch.pcTargetBiases(type) : EXACT;
    if (isStrings(section)) {
      const data = this.elf.data(section.index);
      const at = addend + biases[0]!;
      if (at < 0 || at >= data.length) return r.toSec(section, addend, Math.max(0, at));
      const start = at === 0 ? 0 : data.lastIndexOf(0, at - 1) + 1;
      let end = data.indexOf(0, at);
      if (end < 0) end = data.length;
      return r.toStr(section, data, start, end, addend - start);
    }
    if (this.covers.count(section.index)) {
      for (let k = 0; k < biases.length; k++) {
        const s = this.covers.covering(section.index, addend + biases[k]!);
        if (s) return r.toSym(s, addend - s.value);
      }
      const only = this.covers.only(section.index);
      if (only) return r.toSym(only, addend - only.value);
    }
    return r.toSec(section, addend, Math.max(0, addend + biases[0]!));
  }

  /** For each data symbol, the functions whose code refers to it (computed on first use). */
  owners(): Map<number, Set<number>> {
    if (this.ownersCache) return this.ownersCache;
    const out = new Map<number, Set<number>>();
    for (const f of this.functions) {
      const rs = f.relocs;
      for (let i = 0; i < rs.length; i++) {
        const ref = this.resolve(rs.sym(i), rs.type(i), rs.addend(i), f.section, this.scratch);
        if (ref.kind !== "sym" || !this.byIndex.has(ref.sym!.index)) continue;
        const set = out.get(ref.sym!.index);
        if (set) set.add(f.sym.index); else out.set(ref.sym!.index, new Set([f.sym.index]));
      }
    }
    this.ownersCache = out;
    return out;
  }

  /**
   * Where the anonymous place at `target` of a shared section ends: at the next place anything
   * in the object refers to (or a symbol starts), else at the section's end. A fixup in the
   * shared `.fixup` of 4.x kernels ends where the next __ex_table entry's fixup begins.
   */
  placeEnd(section: ElfSection, target: number): number {
    const places = (this.placesCache ??= this.referencedPlaces()).get(section.index) ?? [];
    let lo = 0, hi = places.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (places[mid]! <= target) lo = mid + 1; else hi = mid;
    }
    return lo < places.length ? places[lo]! : section.size;
  }

  /** Per section, the sorted offsets that relocations of allocated sections point at. */
  private referencedPlaces(): Map<number, number[]> {
    const out = new Map<number, Set<number>>();
    const add = (shndx: number, at: number) => {
      const set = out.get(shndx) ?? new Set<number>();
      set.add(at);
      out.set(shndx, set);
    };
    for (const { rela, target } of this.elf.relaSections()) {
      if ((target.flags & C.SHF_ALLOC) === 0 || rela.info !== target.index) continue;
      const rs = this.elf.relocTable(target.index);
      for (let i = 0; i < rs.length; i++) {
        const sym = this.elf.symbols[rs.syms[i]!];
        if (!sym || sym.shndx === C.SHN_UNDEF || sym.shndx >= C.SHN_LORESERVE) continue;
        const bias = target.flags & C.SHF_EXECINSTR ? this.arch.pcTargetBiases(rs.types[i]!)[0]! : 0;
        add(sym.shndx, sym.value + rs.addends[i]! + bias);
      }
    }
    for (let shndx = 0; shndx < this.elf.sections.length; shndx++) for (const at of this.covers.startsIn(shndx)) add(shndx, at);
    return new Map([...out].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]));
  }

  /** Special-section entries of tables passing `which` owned by `f`, ordered by table then place. */
  entriesOf(f: KFunction, which: (t: TableSpec) => boolean = () => true): SpecialEntry[] {
    let out: SpecialEntry[] | undefined;
    this.specialSections.forEach((sections, name) => {
      if (!which(tableSpec(name)!)) return;
      const list = this.indexTable(name, sections).get(f.sym.index);
      if (list) (out ??= []).push(...list);
    });
    if (!out) return [];
    return out.length > 1 ? out.sort((a, b) => tableRank(a.table.name) - tableRank(b.table.name) || a.at - b.at) : out;
  }

  /** Special-section entries owned by function `f`, ordered by where they point in it. */
  specialEntries(f: KFunction): readonly SpecialEntry[] {
    return this.entriesOf(f);
  }

  /** The resolved layout of one special section of this object. */
  table(section: ElfSection): SpecialTable {
    let t = this.tables.get(section.index);
    if (!t) {
      const relocs = this.elf.relocTable(section.index);
      const sample: TableSample = {
        name: section.name, size: section.size, entsize: section.entsize, relocs,
        refersToCode: (i) => {
          const sym = this.elf.symbols[relocs.syms[i]!];
          const target = sym && sym.shndx > 0 && sym.shndx < C.SHN_LORESERVE ? this.elf.sections[sym.shndx] : undefined;
          return target !== undefined && (target.flags & C.SHF_EXECINSTR) !== 0;
        },
        refersToFunction: (i) => {
          const ref = this.resolve(relocs.syms[i]!, relocs.types[i]!, relocs.addends[i]!, section, this.scratch);
          return ref.kind === "sym" && this.byIndex.get(ref.sym!.index)?.kind === "function";
        },
      };
      t = resolveTable(tableSpec(section.name)!, sample, this.context());
      this.tables.set(section.index, t);
    }
    return t;
  }

  /** Entry size of a table's parallel table (`.orc_unwind` beside `.orc_unwind_ip`). */
  parallelEntrySize(table: SpecialTable, parallel: ElfSection): number {
    const sites = this.specialSections.get(table.name) ?? [];
    const entries = sites.reduce((n, s) => n + s.size / this.table(s).entrySize, 0);
    const struct = table.spec.parallel!.struct;
    return parallelEntrySize(struct, parallel, entries, this.context());
  }

  private context() {
    return { arch: this.arch, layouts: this.options.layouts, file: this.path };
  }

  private indexTable(name: string, sections: readonly ElfSection[]): Map<number, SpecialEntry[]> {
    let index = this.tableIndex.get(name);
    if (index) return index;
    index = new Map();
    for (const section of sections) {
      if (section.size === 0) continue;
      const table = this.table(section);
      const rs = this.elf.relocTable(section.index);
      for (let i = 0; i < rs.length; i++) {
        const off = rs.offsets[i]!;
        if (off % table.entrySize !== table.ownerField) continue;
        const ref = this.resolve(rs.syms[i]!, rs.types[i]!, rs.addends[i]!, section, this.scratch);
        if (ref.kind !== "sym") continue;
        const owner = this.byIndex.get(ref.sym!.index);
        if (!owner || owner.kind !== "function") continue;
        const list = index.get(owner.sym.index) ?? [];
        list.push({ table, section, index: (off - table.ownerField) / table.entrySize, at: ref.offset });
        index.set(owner.sym.index, list);
      }
    }
    this.tableIndex.set(name, index);
    return index;
  }

  /** Bytes and relocations of `length` bytes at `start` of a section, offsets relative to `start`. */
  range(section: ElfSection, start: number, length: number): { bytes: Buffer; relocs: RelocSpan } {
    return { bytes: this.elf.data(section.index).subarray(start, start + length), relocs: this.elf.relocTable(section.index).span(start, length) };
  }

  /** Bytes and relocations of one special entry, offsets relative to the entry. */
  entry(e: SpecialEntry): { bytes: Buffer; relocs: RelocSpan } {
    return this.range(e.section, e.index * e.table.entrySize, e.table.entrySize);
  }

  /**
   * Where the blob of an entry lies (alt_instr's replacement code): a place in a section and its
   * length. Undefined when the table has no blob, the field has no relocation, or it names a
   * patching callback (arm64's ALTERNATIVE_CB: `alt_cb_patch_nops`, alt_len 0).
   */
  blob(e: SpecialEntry): { section: ElfSection; offset: number; length: number } | undefined {
    const b = e.table.blob;
    if (!b) return undefined;
    const { bytes, relocs } = this.entry(e);
    const i = relocs.indexAt(b.field);
    if (i < 0) return undefined;
    const length = b.lengthSize === 1 ? bytes[b.lengthAt] ?? 0 : this.elf.order.u16(bytes, b.lengthAt);
    const ref = this.referentOf(relocs.sym(i), relocs.type(i), relocs.addend(i), e.section);
    if (ref.kind === "sec") return { section: ref.section, offset: ref.offset, length };
    // Replacement code right behind a function (arm64's `.subsection 1`) resolves to the
    // function's end; a callback has no replacement bytes (alt_len 0).
    if (ref.kind !== "sym" || length === 0 || ref.sym.shndx === C.SHN_UNDEF || ref.sym.shndx >= C.SHN_LORESERVE) return undefined;
    return { section: this.elf.sections[ref.sym.shndx]!, offset: ref.sym.value + ref.offset, length };
  }

  /**
   * Where a function's code ends in its section, with the replacement code of its alternatives
   * that the assembler put right behind it: arm64's ALTERNATIVE emits the replacement into
   * `.subsection 1` of the function's own section (pipe_write's `.text.pipe_write` holds 60
   * bytes of them after the function), so a carried function must carry them too.
   */
  codeEnd(f: KFunction): number {
    let end = f.sym.value + f.sym.size;
    for (const e of this.entriesOf(f, (t) => t.kind === "struct" && t.blob !== undefined)) {
      const b = this.blob(e);
      if (b && b.section.index === f.section.index && b.offset >= end) end = Math.max(end, b.offset + b.length);
    }
    return end;
  }
}

