// Builds the output object: the carried functions, the data and strings they need, the
// special-section entries that belong to them, and undefined symbols (named as in the running
// kernel's build) for everything else they refer to. Klp relocations come later.
import type { Correlation } from "../correlate/correlate.js";
import { badInput } from "../errors.js";
import * as C from "../elf/constants.js";
import type { OutObject, OutReloc, OutSection, OutSymbol } from "../elf/model.js";
import type { ElfRela, ElfSection } from "../elf/types.js";
import type { Entity, KData, KFunction, KObject, SpecialEntry } from "../object/kobject.js";
import { TABLE_SPECS } from "../object/tables.js";
import type { Selection } from "../select/select.js";
import type { ExternRef } from "./resolve.js";

/** The output object, what each of its undefined symbols stands for, and its carried functions. */
export interface Emission {
  readonly object: OutObject;
  readonly externs: Map<string, ExternRef>;
  /** Output symbol of each carried function, by its name in the patched object. */
  readonly functions: ReadonlyMap<string, OutSymbol>;
}

const KEEP_FLAGS = ~C.SHF_GROUP;
/**
 * SHF_LINK_ORDER ties a table to the one text section it describes: gcc emits one
 * `__patchable_function_entries` per function, linked to `.text.<fn>` (6.12's CALL_PADDING). Such
 * a table is carried the same way, one section per carried function linked to its output
 * section: ld refuses to mix ordered and unordered input sections of one name, and the
 * livepatch's own livepatch.c, compiled with the same flags, brings ordered ones.
 */
const SHF_LINK_ORDER = 0x80;
const TABLE_FLAGS = KEEP_FLAGS & ~SHF_LINK_ORDER;

class Emitter {
  readonly sections: OutSection[] = [];
  readonly symbols: OutSymbol[] = [];
  private readonly entityOut = new Map<number, OutSymbol>();
  private readonly sectionOut = new Map<number, { section: OutSection; symbol: OutSymbol }>();
  private readonly undef = new Map<string, OutSymbol>();
  readonly externs = new Map<string, ExternRef>();
  private readonly carried: Set<number>;

  constructor(readonly o: KObject, readonly p: KObject, readonly corr: Correlation, sel: Selection) {
    this.carried = new Set(sel.carried.map((f) => f.sym.index));
    if (p.sourceFile) this.symbols.push({ name: p.sourceFile, value: 0, size: 0, bind: C.STB_LOCAL, type: C.STT_FILE, other: 0, shndx: C.SHN_ABS });
  }

  /** The name the running kernel knows an entity by: the original's, when it has a twin. */
  private runningName(e: Entity): string {
    const oi = this.corr.p2o.get(e.sym.index);
    const twin = oi === undefined ? undefined : this.o.byIndex.get(oi);
    return twin ? twin.name : e.name;
  }

  private mustCopyData(d: KData): boolean {
    return d.freshCopy || !this.corr.p2o.has(d.sym.index);
  }

  /**
   * A carried function in a section of its own named after it in the running kernel, with its
   * `__pfx_`/`__cfi_` preamble in front: the section starts at the preamble and the function
   * keeps its distance from it, as the kernel's call thunks and kCFI checks expect.
   */
  carryFunction(f: KFunction): OutSymbol {
    const known = this.entityOut.get(f.sym.index);
    if (known) return known;
    const name = f.section.name.startsWith(".text.") ? `.text.${this.runningName(f)}` : f.section.name;
    const start = f.prefix?.start ?? f.sym.value;
    const symbol = this.carryRange(f, name, start, this.p.codeEnd(f) - start);
    for (const pfx of f.prefix?.symbols ?? []) {
      const prefixName = pfx.name.slice(0, pfx.name.length - f.name.length) + symbol.name;
      this.symbols.push({ name: prefixName, value: pfx.value - start, size: pfx.size, bind: pfx.bind, type: pfx.type, other: pfx.other, section: symbol.section! });
    }
    return symbol;
  }

  private carryEntity(e: Entity, sectionName: string): OutSymbol {
    return this.entityOut.get(e.sym.index) ?? this.carryRange(e, sectionName, e.sym.value, e.sym.size);
  }

  /** `length` bytes from `start` of the entity's section, holding the entity, as a new section. */
  private carryRange(e: Entity, sectionName: string, start: number, length: number): OutSymbol {
    const src = e.section;
    const { bytes, relocs } = this.p.range(src, start, length);
    const section: OutSection = {
      name: sectionName, type: src.type, flags: src.flags & KEEP_FLAGS, addralign: src.addralign, entsize: src.entsize,
      ...(src.type === C.SHT_NOBITS ? { nobitsSize: length } : { data: Buffer.from(bytes) }),
    };
    const symbol: OutSymbol = { name: this.runningName(e), value: e.sym.value - start, size: e.sym.size, bind: e.sym.bind, type: e.sym.type, other: e.sym.other, section };
    this.sections.push(section);
    this.symbols.push(symbol);
    this.entityOut.set(e.sym.index, symbol);
    this.attachRelocs(section, relocs.toArray(), src);
    return symbol;
  }

  /** Whole sections are carried for strings and anonymous constants (no symbol covers them). */
  private carrySection(s: ElfSection): OutSymbol {
    const known = this.sectionOut.get(s.index);
    if (known) return known.symbol;
    const section: OutSection = {
      name: s.name, type: s.type, flags: s.flags & KEEP_FLAGS, addralign: s.addralign, entsize: s.entsize,
      ...(s.type === C.SHT_NOBITS ? { nobitsSize: s.size } : { data: Buffer.from(this.p.elf.data(s.index)) }),
    };
    const symbol: OutSymbol = { name: "", value: 0, size: 0, bind: C.STB_LOCAL, type: C.STT_SECTION, other: 0, section };
    this.sections.push(section);
    this.symbols.push(symbol);
    this.sectionOut.set(s.index, { section, symbol });
    this.attachRelocs(section, this.p.elf.relocTable(s.index).span(0, s.size).toArray(), s);
    return symbol;
  }

  /** An undefined symbol for something outside the output: `e` when it is an entity of the object. */
  private undefinedSymbol(name: string, e?: KFunction | KData): OutSymbol {
    let s = this.undef.get(name);
    if (!s) {
      const oi = e ? this.corr.p2o.get(e.sym.index) : undefined;
      const twin = oi === undefined ? undefined : this.o.byIndex.get(oi);
      this.externs.set(name, {
        name,
        definedInObject: twin !== undefined,
        local: (twin ?? e)?.sym.bind === C.STB_LOCAL,
        isFunction: e?.kind === "function",
      });
      s = { name, value: 0, size: 0, bind: C.STB_GLOBAL, type: C.STT_NOTYPE, other: 0, shndx: C.SHN_UNDEF };
      this.undef.set(name, s);
      this.symbols.push(s);
    }
    return s;
  }

  private attachRelocs(section: OutSection, relocs: readonly ElfRela[], from: ElfSection) {
    if (!relocs.length) return;
    const entries = relocs.map((r) => this.rewrite(r, from));
    this.sections.push({ name: `.rela${section.name}`, type: C.SHT_RELA, flags: C.SHF_INFO_LINK, addralign: 8, entsize: C.RELA_SIZE, relocs: { target: section, entries } });
  }

  /** One relocation of the patched object, re-expressed against the output's symbols. */
  private rewrite(r: ElfRela, from: ElfSection): OutReloc {
    const ref = this.p.referent(r, from);
    const at = (symbol: OutSymbol | null, addend: number): OutReloc => ({ offset: r.offset, type: r.type, symbol, addend });
    switch (ref.kind) {
      case "none": return at(null, r.addend);
      case "str":
      case "sec": return at(this.carrySection(ref.section), r.addend);
      case "sym": {
        if (ref.sym.shndx === C.SHN_UNDEF) return at(this.undefinedSymbol(ref.sym.name), r.addend);
        const e = this.p.byIndex.get(ref.sym.index);
        if (!e) {
          // A defined label that is neither function nor object: keep its whole section.
          const section = ref.sym.shndx < C.SHN_LORESERVE ? this.p.elf.sections[ref.sym.shndx] : undefined;
          if (!section || ref.sym.type === C.STT_FILE) {
            throw badInput(this.p.path, `relocation in ${from.name} at ${r.offset} refers to ${ref.sym.name || `symbol ${ref.sym.index}`}, which has no section to carry (section index ${ref.sym.shndx})`);
          }
          return at(this.carrySection(section), ref.sym.value + ref.offset);
        }
        if (e.kind === "function") {
          return at(this.carried.has(e.sym.index) ? this.carryFunction(e) : this.undefinedSymbol(this.runningName(e), e), ref.offset);
        }
        return at(this.mustCopyData(e) ? this.carryEntity(e, e.section.name) : this.undefinedSymbol(this.runningName(e), e), ref.offset);
      }
    }
  }

  /**
   * Entries of special tables that belong to carried functions, one output table each, whose
   * sh_entsize says the entry size (as upstream objtool expects of special sections since 6.17).
   */
  carrySpecialEntries(functions: readonly KFunction[]) {
    const byTable = new Map<string, { f: KFunction; e: SpecialEntry }[]>();
    for (const f of functions) {
      for (const e of this.p.entriesOf(f)) {
        const list = byTable.get(e.table.name) ?? [];
        list.push({ f, e });
        byTable.set(e.table.name, list);
      }
    }
    for (const spec of TABLE_SPECS) {
      const owned = byTable.get(spec.section);
      if (!owned?.length || (spec.kind === "sites" && spec.listedAtModuleLink)) continue;
      const first = owned[0]!.e;
      if (first.section.flags & SHF_LINK_ORDER) {
        for (const f of functions) {
          const mine = owned.filter((x) => x.f === f).map((x) => x.e);
          if (mine.length) this.carryTable(spec.section, mine, this.carryFunction(f).section);
        }
      } else {
        this.carryTable(spec.section, owned.map((x) => x.e));
      }
      if (spec.parallel) this.carryParallel(first, owned.map((x) => x.e));
    }
  }

  /** One output table of `entries` (of one section name), linked to `text` when it is ordered. */
  private carryTable(name: string, entries: readonly SpecialEntry[], text?: OutSection) {
    const first = entries[0]!;
    const src = first.section, size = first.table.entrySize;
    const data = Buffer.concat(entries.map((e) => this.p.entry(e).bytes));
    const section: OutSection = {
      name, type: src.type, flags: (src.flags & TABLE_FLAGS) | (text ? SHF_LINK_ORDER : 0), addralign: src.addralign, entsize: size, data,
      ...(text ? { link: text } : {}),
    };
    this.sections.push(section);
    const relocs: OutReloc[] = [];
    entries.forEach((e, i) => {
      const rs = this.p.entry(e).relocs;
      for (let k = 0; k < rs.length; k++) {
        const r = rs.at(k);
        relocs.push({ ...this.rewrite({ ...r, offset: r.offset + e.index * size }, e.section), offset: r.offset + i * size });
      }
    });
    if (relocs.length) this.sections.push({ name: `.rela${name}`, type: C.SHT_RELA, flags: C.SHF_INFO_LINK, addralign: 8, entsize: C.RELA_SIZE, relocs: { target: section, entries: relocs } });
  }

  /** `.orc_unwind` holds one entry per `.orc_unwind_ip` entry, in the same order. */
  private carryParallel(first: SpecialEntry, entries: readonly SpecialEntry[]) {
    const name = first.table.spec.parallel!.section;
    const src = this.p.elf.sections.find((s) => s.name === name);
    if (!src) return;
    const size = this.p.parallelEntrySize(first.table, src);
    const all = this.p.elf.data(src.index);
    const data = Buffer.concat(entries.map((e) => all.subarray(e.index * size, (e.index + 1) * size)));
    this.sections.push({ name, type: src.type, flags: src.flags & TABLE_FLAGS, addralign: src.addralign, entsize: size, data });
  }
}

export function emitObject(o: KObject, p: KObject, corr: Correlation, sel: Selection): Emission {
  const e = new Emitter(o, p, corr, sel);
  const functions = new Map(sel.carried.map((f) => [f.name, e.carryFunction(f)] as const));
  e.carrySpecialEntries(sel.carried);
  return {
    object: { machine: p.elf.machine, littleEndian: p.elf.order.little, eflags: p.elf.eflags, osabi: p.elf.osabi, sections: e.sections, symbols: e.symbols },
    externs: e.externs,
    functions,
  };
}
