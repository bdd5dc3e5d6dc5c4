// Writes an OutObject as an ELF64 relocatable file. Symbol table, string tables and section
// numbering are generated here, so a model can never carry a stale index.
import { bigEndian, littleEndian } from "./bytes.js";
import * as C from "./constants.js";
import type { OutObject, OutSection, OutSymbol } from "./model.js";

class StringTable {
  private readonly offsets = new Map<string, number>([["", 0]]);
  private readonly parts: Buffer[] = [Buffer.alloc(1)];
  private size = 1;
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const off = this.size;
    const b = Buffer.from(s + "\0", "latin1");
    this.parts.push(b);
    this.size += b.length;
    this.offsets.set(s, off);
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

interface Planned {
  name: string;
  type: number;
  flags: number;
  addralign: number;
  entsize: number;
  link: number;
  info: number;
  data: Uint8Array | null;
  size: number;
}

const align = (n: number, a: number) => (a > 1 ? Math.ceil(n / a) * a : n);

export function writeElf(obj: OutObject): Buffer {
  const order = obj.littleEndian ? littleEndian : bigEndian;
  const secIndex = new Map<OutSection, number>();
  obj.sections.forEach((s, i) => secIndex.set(s, i + 1));
  const needXindex = obj.sections.length + 4 >= C.SHN_LORESERVE;
  const symtabIdx = obj.sections.length + 1;
  const strtabIdx = symtabIdx + 1;
  const shndxIdx = needXindex ? strtabIdx + 1 : 0;
  const shstrtabIdx = (needXindex ? shndxIdx : strtabIdx) + 1;
  const total = shstrtabIdx + 1;

  // Locals first (gABI), keeping the caller's order within each binding class.
  const locals = obj.symbols.filter((s) => s.bind === C.STB_LOCAL);
  const globals = obj.symbols.filter((s) => s.bind !== C.STB_LOCAL);
  const symbols = [...locals, ...globals];
  const symIndex = new Map<OutSymbol, number>();
  symbols.forEach((s, i) => symIndex.set(s, i + 1));

  const strtab = new StringTable();
  const symtab = Buffer.alloc((symbols.length + 1) * C.SYM_SIZE);
  const shndxTab = needXindex ? Buffer.alloc((symbols.length + 1) * 4) : null;
  symbols.forEach((s, i) => {
    const o = (i + 1) * C.SYM_SIZE;
    let shndx = s.shndx ?? C.SHN_UNDEF;
    if (s.section) {
      const idx = secIndex.get(s.section);
      if (idx === undefined) throw new Error(`symbol ${s.name} is defined in section ${s.section.name}, which is not in the object`);
      shndx = idx;
    }
    order.w32(symtab, o, strtab.add(s.name));
    symtab[o + 4] = (s.bind << 4) | (s.type & 0xf);
    symtab[o + 5] = s.other;
    if (shndxTab && shndx >= C.SHN_LORESERVE && s.section) {
      order.w16(symtab, o + 6, C.SHN_XINDEX);
      order.w32(shndxTab, (i + 1) * 4, shndx);
    } else {
      order.w16(symtab, o + 6, shndx);
    }
    order.w64(symtab, o + 8, s.value);
    order.w64(symtab, o + 16, s.size);
  });

  const symRef = (s: OutSymbol, where: string): number => {
    const i = symIndex.get(s);
    if (i === undefined) throw new Error(`${where} refers to symbol ${s.name}, which is not in the object`);
    return i;
  };
  const secRef = (s: OutSection, where: string): number => {
    const i = secIndex.get(s);
    if (i === undefined) throw new Error(`${where} refers to section ${s.name}, which is not in the object`);
    return i;
  };

  const planned: Planned[] = obj.sections.map((s) => {
    let data: Uint8Array | null = s.data ?? null;
    let link = s.link ? secRef(s.link, `section ${s.name}`) : 0;
    let info = s.info ?? 0;
    if (s.relocs) {
      const buf = Buffer.alloc(s.relocs.entries.length * C.RELA_SIZE);
      s.relocs.entries.forEach((r, i) => {
        const o = i * C.RELA_SIZE;
        const sym = r.symbol ? symRef(r.symbol, `relocation in ${s.name}`) : 0;
        order.w64(buf, o, r.offset);
        if (order.little) { order.w32(buf, o + 8, r.type); order.w32(buf, o + 12, sym); }
        else { order.w32(buf, o + 8, sym); order.w32(buf, o + 12, r.type); }
        order.w64(buf, o + 16, r.addend);
      });
      data = buf;
      link = symtabIdx;
      info = secRef(s.relocs.target, `relocation section ${s.name}`);
    } else if (s.group) {
      const buf = Buffer.alloc(4 + 4 * s.group.members.length);
      order.w32(buf, 0, s.group.flags);
      s.group.members.forEach((m, i) => order.w32(buf, 4 + 4 * i, secRef(m, `group ${s.name}`)));
      data = buf;
      link = symtabIdx;
      info = symRef(s.group.signature, `group ${s.name}`);
    }
    const size = s.type === C.SHT_NOBITS ? (s.nobitsSize ?? 0) : (data?.length ?? 0);
    return { name: s.name, type: s.type, flags: s.flags, addralign: s.addralign, entsize: s.entsize, link, info, data: s.type === C.SHT_NOBITS ? null : data, size };
  });
  planned.push({ name: ".symtab", type: C.SHT_SYMTAB, flags: 0, addralign: 8, entsize: C.SYM_SIZE, link: strtabIdx, info: locals.length + 1, data: symtab, size: symtab.length });
  const strBytes = strtab.bytes();
  planned.push({ name: ".strtab", type: C.SHT_STRTAB, flags: 0, addralign: 1, entsize: 0, link: 0, info: 0, data: strBytes, size: strBytes.length });
  if (shndxTab) planned.push({ name: ".symtab_shndx", type: C.SHT_SYMTAB_SHNDX, flags: 0, addralign: 4, entsize: 4, link: symtabIdx, info: 0, data: shndxTab, size: shndxTab.length });
  const shstrtab = new StringTable();
  const nameOffs = planned.map((p) => shstrtab.add(p.name));
  const shstrOff = shstrtab.add(".shstrtab");
  const shstrBytes = shstrtab.bytes();
  planned.push({ name: ".shstrtab", type: C.SHT_STRTAB, flags: 0, addralign: 1, entsize: 0, link: 0, info: 0, data: shstrBytes, size: shstrBytes.length });
  nameOffs.push(shstrOff);

  // Layout: header, section contents in order, then the section header table.
  let off = C.EHDR_SIZE;
  const offsets = planned.map((p) => {
    if (p.type === C.SHT_NOBITS) return align(off, Math.max(p.addralign, 1));
    off = align(off, Math.max(p.addralign, 1));
    const at = off;
    off += p.size;
    return at;
  });
  const shoff = align(off, 8);
  const out = Buffer.alloc(shoff + total * C.SHDR_SIZE);

  out.set([0x7f, 0x45, 0x4c, 0x46, C.ELFCLASS64, obj.littleEndian ? C.ELFDATA2LSB : C.ELFDATA2MSB, 1, obj.osabi], 0);
  order.w16(out, 16, C.ET_REL);
  order.w16(out, 18, obj.machine);
  order.w32(out, 20, 1);
  order.w64(out, 40, shoff);
  order.w32(out, 48, obj.eflags);
  order.w16(out, 52, C.EHDR_SIZE);
  order.w16(out, 58, C.SHDR_SIZE);
  order.w16(out, 60, total >= C.SHN_LORESERVE ? 0 : total);
  order.w16(out, 62, shstrtabIdx >= C.SHN_LORESERVE ? C.SHN_XINDEX : shstrtabIdx);
  if (total >= C.SHN_LORESERVE) order.w64(out, shoff + 32, total);
  if (shstrtabIdx >= C.SHN_LORESERVE) order.w32(out, shoff + 40, shstrtabIdx);

  planned.forEach((p, i) => {
    if (p.data && p.type !== C.SHT_NOBITS) out.set(p.data, offsets[i]!);
    const h = shoff + (i + 1) * C.SHDR_SIZE;
    order.w32(out, h, nameOffs[i]!);
    order.w32(out, h + 4, p.type);
    order.w64(out, h + 8, p.flags);
    order.w64(out, h + 24, offsets[i]!);
    order.w64(out, h + 32, p.size);
    order.w32(out, h + 40, p.link);
    order.w32(out, h + 44, p.info);
    order.w64(out, h + 48, p.addralign);
    order.w64(out, h + 56, p.entsize);
  });
  return out;
}
