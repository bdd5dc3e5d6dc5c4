// Turns a parsed object into a writable model holding everything in it. `writeElf(toModel(f))`
// is the identity up to layout, which is what the round-trip test proves on kernel objects.
import * as C from "./constants.js";
import type { OutObject, OutSection, OutSymbol } from "./model.js";
import type { ElfFile } from "./reader.js";

const GENERATED = new Set([C.SHT_SYMTAB, C.SHT_SYMTAB_SHNDX]);

export function toModel(f: ElfFile): OutObject {
  const shstrndx = f.sections.find((s) => s.type === C.SHT_STRTAB && s.name === ".shstrtab")?.index;
  const symtab = f.sections[f.symtabIndex];
  const skip = (i: number) => i === 0 || GENERATED.has(f.sections[i]!.type) || i === shstrndx || (symtab !== undefined && f.symtabIndex !== 0 && i === symtab.link);
  const secMap = new Map<number, OutSection>();
  for (const s of f.sections) {
    if (skip(s.index)) continue;
    secMap.set(s.index, {
      name: s.name, type: s.type, flags: s.flags, addralign: s.addralign, entsize: s.entsize,
      ...(s.type === C.SHT_NOBITS ? { nobitsSize: s.size } : { data: f.data(s.index) }),
      info: s.info,
    });
  }
  for (const s of f.sections) {
    const out = secMap.get(s.index);
    if (out && s.link && s.type !== C.SHT_RELA && s.type !== C.SHT_GROUP) out.link = secMap.get(s.link);
  }
  const symbols: OutSymbol[] = f.symbols.slice(1).map((s) => {
    const sec = s.shndx > 0 && s.shndx < C.SHN_LORESERVE ? secMap.get(s.shndx) : undefined;
    return { name: s.name, value: s.value, size: s.size, bind: s.bind, type: s.type, other: s.other, ...(sec ? { section: sec } : { shndx: s.shndx }) };
  });
  const symAt = (i: number): OutSymbol | null => (i === 0 ? null : symbols[i - 1]!);
  for (const { rela, target } of f.relaSections()) {
    const out = secMap.get(rela.index)!;
    const t = secMap.get(target.index);
    if (!t) throw f.bad(`relocation section ${rela.name} applies to ${target.name}, which cannot carry relocations`);
    out.relocs = { target: t, entries: f.readRela(rela).map((r) => ({ offset: r.offset, symbol: symAt(r.symbol), type: r.type, addend: r.addend })) };
  }
  for (const g of f.groups()) {
    const out = secMap.get(g.section)!;
    const signature = symAt(g.signature);
    if (!signature) throw f.bad(`group section ${f.sections[g.section]!.name} has no signature symbol`);
    out.group = { signature, flags: g.flags, members: g.members.map((m) => secMap.get(m)!).filter(Boolean) };
  }
  return {
    machine: f.machine, littleEndian: f.order.little, eflags: f.eflags, osabi: f.osabi,
    sections: [...secMap.values()], symbols,
  };
}
