// Walks a livepatch module's static `struct klp_patch` → `objs[]` → `funcs[]` through the
// relocations of its data, with the field offsets of the target's own struct layouts. In a
// linked `.ko` every pointer field is a relocation (`.name` against `.rodata.str1.1`,
// `.new_func` against `.text` or the function's symbol), and plain numbers such as
// `old_sympos` are bytes of the data section itself.
import * as C from "../elf/constants.js";
import type { ElfFile } from "../elf/reader.js";
import type { ElfSection } from "../elf/types.js";
import { badInput } from "../errors.js";
import type { Layouts, StructLayout } from "../object/layouts.js";

/** Where a pointer field points: a section and an offset in it, and the symbol it names. */
interface Pointee {
  readonly section: ElfSection;
  readonly offset: number;
  /** The relocation's own symbol when it is a named one (not a section symbol). */
  readonly symbol?: string;
}

export interface KlpFuncRead {
  readonly oldName: string;
  readonly oldSympos: number;
  /** The replacement function's symbol in the module. */
  readonly newFunc: string;
}

export interface KlpObjectRead {
  /** "vmlinux" when `.name` is NULL, else the module it patches. */
  readonly name: string;
  readonly funcs: readonly KlpFuncRead[];
}

export interface KlpPatchRead {
  /** The data symbol holding the `struct klp_patch` (e.g. `patch`), or its place. */
  readonly symbol: string;
  readonly objects: readonly KlpObjectRead[];
}

const KLP_STRUCTS = ["klp_patch", "klp_object", "klp_func"] as const;

function layoutOf(layouts: Layouts, name: string): StructLayout {
  const l = layouts.get(name);
  if (!l) throw badInput(undefined, `the target's struct ${name} layout is unknown (its tree was probed without it)`);
  return l;
}

function fieldOffset(l: StructLayout, struct: string, field: string): number {
  const f = l.fields.get(field);
  if (!f) throw badInput(undefined, `the target's struct ${struct} has no field ${field}`);
  return f.offset;
}

/** Reads the module's structures through its relocations. */
class StructReader {
  constructor(private readonly elf: ElfFile, private readonly pointerSize: number) {}

  /** The relocation at exactly `offset` of `section`, as where it points. */
  pointer(section: ElfSection, offset: number): Pointee | undefined {
    const t = this.elf.relocTable(section.index);
    const i = t.lowerBound(offset);
    if (i >= t.length || t.offsets[i] !== offset) return undefined;
    const sym = this.elf.symbols[t.syms[i]!]!;
    if (sym.shndx === C.SHN_UNDEF || sym.shndx >= C.SHN_LORESERVE) {
      throw this.elf.bad(`${section.name}+0x${offset.toString(16)} points to ${sym.name || "an undefined symbol"}, not into the module`);
    }
    return { section: this.elf.sections[sym.shndx]!, offset: sym.value + t.addends[i]!, ...(sym.name && sym.type !== C.STT_SECTION ? { symbol: sym.name } : {}) };
  }

  cString(p: Pointee): string {
    const data = this.elf.data(p.section.index);
    const end = data.indexOf(0, p.offset);
    if (p.offset >= data.length || end < 0) throw this.elf.bad(`string at ${p.section.name}+0x${p.offset.toString(16)} is not NUL-terminated`);
    return data.toString("latin1", p.offset, end);
  }

  /** An unsigned long field (old_sympos): the section's own bytes; a relocation there is not a number. */
  number(section: ElfSection, offset: number): number {
    const data = this.elf.data(section.index);
    if (offset + this.pointerSize > data.length) return 0;
    if (this.pointer(section, offset)) throw this.elf.bad(`${section.name}+0x${offset.toString(16)}: a number field holds a relocation`);
    return this.pointerSize === 8 ? this.elf.order.u64(data, offset) : this.elf.order.u32(data, offset);
  }

  /** The function symbol a `new_func` pointer names. */
  functionAt(p: Pointee): string {
    if (p.symbol) return p.symbol;
    const f = this.elf.symbols.find((s) => s.type === C.STT_FUNC && s.shndx === p.section.index && s.value === p.offset);
    return f?.name ?? `${p.section.name}+0x${p.offset.toString(16)}`;
  }

  /** The name of the data symbol that starts at `offset` of `section`, if any. */
  dataName(section: ElfSection, offset: number): string {
    const s = this.elf.symbols.find((x) => x.shndx === section.index && x.value === offset && x.name && x.type === C.STT_OBJECT);
    return s?.name ?? `${section.name}+0x${offset.toString(16)}`;
  }
}

/** Reads `objs[]` from `p` until the empty element (klp_for_each_object_static's end test). */
function readObjects(r: StructReader, layouts: Layouts, at: Pointee): KlpObjectRead[] {
  const lo = layoutOf(layouts, "klp_object");
  const lf = layoutOf(layouts, "klp_func");
  const [name, funcs] = [fieldOffset(lo, "klp_object", "name"), fieldOffset(lo, "klp_object", "funcs")];
  const [oldName, newFunc, sympos] = [fieldOffset(lf, "klp_func", "old_name"), fieldOffset(lf, "klp_func", "new_func"), fieldOffset(lf, "klp_func", "old_sympos")];
  const out: KlpObjectRead[] = [];
  for (let o = at.offset; o + lo.size <= at.section.size; o += lo.size) {
    const np = r.pointer(at.section, o + name), fp = r.pointer(at.section, o + funcs);
    if (!np && !fp) return out;
    const list: KlpFuncRead[] = [];
    if (fp) {
      for (let f = fp.offset; f + lf.size <= fp.section.size; f += lf.size) {
        const on = r.pointer(fp.section, f + oldName), nf = r.pointer(fp.section, f + newFunc);
        const pos = r.number(fp.section, f + sympos);
        if (!on && !nf && pos === 0) break;
        if (!on || !nf) throw badInput(undefined, `klp_func at ${fp.section.name}+0x${f.toString(16)} lacks ${on ? "new_func" : "old_name"}`);
        list.push({ oldName: r.cString(on), oldSympos: pos, newFunc: r.functionAt(nf) });
      }
    }
    out.push({ name: np ? r.cString(np) : "vmlinux", funcs: list });
  }
  return out;
}

/**
 * Every static `struct klp_patch` of the module: a place whose `.mod` field holds a relocation
 * against `__this_module` (`.mod = THIS_MODULE`) and whose `.objs` points to data.
 */
export function readKlpPatches(elf: ElfFile, layouts: Layouts, pointerSize: number): KlpPatchRead[] {
  for (const s of KLP_STRUCTS) layoutOf(layouts, s);
  const lp = layoutOf(layouts, "klp_patch");
  const [mod, objs] = [fieldOffset(lp, "klp_patch", "mod"), fieldOffset(lp, "klp_patch", "objs")];
  const r = new StructReader(elf, pointerSize);
  const out: KlpPatchRead[] = [];
  for (const { target } of elf.relaSections()) {
    if (!isData(target)) continue;
    const t = elf.relocTable(target.index);
    for (let i = 0; i < t.length; i++) {
      if (elf.symbols[t.syms[i]!]!.name !== "__this_module") continue;
      const base = t.offsets[i]! - mod;
      if (base < 0 || base + lp.size > target.size) continue;
      const objsAt = r.pointer(target, base + objs);
      if (!objsAt || !isData(objsAt.section)) continue;
      out.push({ symbol: r.dataName(target, base), objects: readObjects(r, layouts, objsAt) });
    }
  }
  return out;
}

/** Allocated, writable or read-only data (not code, not a debug or relocation section). */
function isData(s: ElfSection): boolean {
  return (s.flags & C.SHF_ALLOC) !== 0 && (s.flags & C.SHF_EXECINSTR) === 0 && s.type === C.SHT_PROGBITS;
}
