// A small DWARF 4/5 reader for relocatable kernel objects: every DIE of `.debug_info` with its
// tag, its parent and the attributes the caller asks for. It is enough to answer "where was
// cmdline_proc_show inlined?" from fs/proc/cmdline.o and to name a function's parameter types;
// it does not read line tables or evaluate locations. In a `.o` the string and cross-section offsets are zero with the real value in the
// relocation's addend (`.rela.debug_info` against `.debug_str`), so the relocations of the
// debug sections are applied to private copies first.
import type { Arch } from "../arch/index.js";
import { SHF_COMPRESSED, SHN_UNDEF } from "../elf/constants.js";
import type { ByteOrder } from "../elf/bytes.js";
import type { ElfFile } from "../elf/reader.js";
import { badInput } from "../errors.js";
import * as D from "./constants.js";

export type AttrValue = number | string | boolean;

export interface Die {
  /** Offset of the DIE in `.debug_info`: what DW_AT_abstract_origin and other references hold. */
  readonly offset: number;
  readonly tag: number;
  /** Index of the parent DIE in `DebugInfo.dies`, -1 for a unit's root. */
  readonly parent: number;
  /**
   * The attributes asked for; references already turned into `.debug_info` offsets. A block
   * value (an expression) is not read: it is in `at` only.
   */
  readonly attrs: ReadonlyMap<number, AttrValue>;
  /**
   * Where each attribute asked for is stored in `.debug_info`: in a `.o` an address
   * (DW_AT_low_pc) is a relocation there, naming the section of the code it describes.
   */
  readonly at: ReadonlyMap<number, number>;
}

export interface DebugInfo {
  readonly dies: readonly Die[];
  /** `.debug_info` offset → index in `dies`. */
  readonly byOffset: ReadonlyMap<number, number>;
}

interface AbbrevAttr { readonly name: number; readonly form: number; readonly implicit: number }
interface Abbrev { readonly tag: number; readonly children: boolean; readonly attrs: readonly AbbrevAttr[] }

/** A byte cursor over one section, failing with the object's name when the data runs out. */
class Cursor {
  constructor(readonly buf: Buffer, public pos: number, private readonly fail: (why: string) => Error,
    private readonly order: ByteOrder) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.fail(`truncated at offset ${this.pos}`);
  }
  u8(): number { this.need(1); return this.buf[this.pos++]!; }
  u16(): number { this.need(2); const v = this.order.u16(this.buf, this.pos); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.order.u32(this.buf, this.pos); this.pos += 4; return v; }
  u64(): number { this.need(8); const v = this.order.u64(this.buf, this.pos); this.pos += 8; return v; }
  uN(n: number): number {
    if (n === 1) return this.u8();
    if (n === 2) return this.u16();
    if (n === 3) {
      const b = [this.u8(), this.u8(), this.u8()];
      return this.order.little ? b[0]! + b[1]! * 0x100 + b[2]! * 0x10000 : b[2]! + b[1]! * 0x100 + b[0]! * 0x10000;
    }
    if (n === 4) return this.u32();
    return this.u64();
  }
  uleb(): number {
    let v = 0, mul = 1, b: number;
    do { b = this.u8(); v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return v;
  }
  sleb(): number {
    let v = 0, mul = 1, b: number;
    do { b = this.u8(); v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return b & 0x40 ? v - mul : v;
  }
  cstr(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw this.fail(`unterminated string at offset ${this.pos}`);
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 1;
    return s;
  }
  skip(n: number): void { this.need(n); this.pos += n; }
}

/**
 * A debug section's bytes with its relocations applied (S + A, as wide as the arch says each
 * relocation type writes). Only absolute relocations occur in `.debug_*` sections.
 */
export function relocatedSection(elf: ElfFile, arch: Arch, name: string): Buffer | undefined {
  const sec = elf.sections.find((s) => s.name === name);
  if (!sec) return undefined;
  const out = Buffer.from(elf.data(sec.index));
  const table = elf.relocTable(sec.index);
  for (let i = 0; i < table.length; i++) {
    const sym = elf.symbols[table.syms[i]!]!;
    const value = (sym.shndx === SHN_UNDEF ? 0 : sym.value) + table.addends[i]!;
    const width = arch.relocWidth(table.types[i]!);
    const at = table.offsets[i]!;
    if (width === 4) elf.order.w32(out, at, value);
    else if (width === 8) elf.order.w64(out, at, value);
  }
  return out;
}

function readAbbrevs(data: Buffer, offset: number, fail: (why: string) => Error, order: ByteOrder): Map<number, Abbrev> {
  const c = new Cursor(data, offset, fail, order);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = c.uleb();
    if (code === 0) return out;
    const tag = c.uleb();
    const children = c.u8() !== 0;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const name = c.uleb(), form = c.uleb();
      if (name === 0 && form === 0) break;
      attrs.push({ name, form, implicit: form === D.DW_FORM_implicit_const ? c.sleb() : 0 });
    }
    out.set(code, { tag, children, attrs });
  }
}

/**
 * Forms that hold an index into .debug_str_offsets (clang's DWARF 5 names everything with
 * strx1): read as numbers, turned into names through the unit's DW_AT_str_offsets_base.
 */
const STRING_INDEX = new Set([D.DW_FORM_strx, D.DW_FORM_strx1, D.DW_FORM_strx2, D.DW_FORM_strx3,
  D.DW_FORM_strx4, D.DW_FORM_GNU_str_index]);

interface Unit {
  readonly offset: number;
  readonly offsetSize: number;
  readonly addrSize: number;
  readonly version: number;
}

/** The strings an attribute may point into. */
interface Strings { readonly str: Buffer | undefined; readonly lineStr: Buffer | undefined }

function stringAt(table: Buffer | undefined, off: number, what: string, fail: (why: string) => Error): string {
  if (!table || off >= table.length) throw fail(`${what} offset ${off} lies outside the section`);
  const end = table.indexOf(0, off);
  return table.toString("utf8", off, end < 0 ? table.length : end);
}

/** Reads one attribute value of `form`; undefined for the forms whose value nothing here needs. */
function readForm(c: Cursor, form: number, u: Unit, s: Strings, implicit: number, fail: (why: string) => Error): AttrValue | undefined {
  switch (form) {
    case D.DW_FORM_addr: return c.uN(u.addrSize);
    case D.DW_FORM_data1: case D.DW_FORM_ref1: case D.DW_FORM_flag: case D.DW_FORM_strx1: case D.DW_FORM_addrx1: {
      const v = c.u8();
      return form === D.DW_FORM_ref1 ? u.offset + v : form === D.DW_FORM_flag ? v !== 0 : v;
    }
    case D.DW_FORM_data2: case D.DW_FORM_ref2: case D.DW_FORM_strx2: case D.DW_FORM_addrx2: {
      const v = c.u16();
      return form === D.DW_FORM_ref2 ? u.offset + v : v;
    }
    case D.DW_FORM_strx3: case D.DW_FORM_addrx3: return c.uN(3);
    case D.DW_FORM_data4: case D.DW_FORM_ref4: case D.DW_FORM_strx4: case D.DW_FORM_addrx4: case D.DW_FORM_ref_sup4: {
      const v = c.u32();
      return form === D.DW_FORM_ref4 ? u.offset + v : v;
    }
    case D.DW_FORM_data8: case D.DW_FORM_ref8: case D.DW_FORM_ref_sig8: case D.DW_FORM_ref_sup8: {
      const v = c.u64();
      return form === D.DW_FORM_ref8 ? u.offset + v : v;
    }
    case D.DW_FORM_data16: c.skip(16); return undefined;
    case D.DW_FORM_sdata: return c.sleb();
    case D.DW_FORM_udata: case D.DW_FORM_strx: case D.DW_FORM_addrx: case D.DW_FORM_loclistx:
    case D.DW_FORM_rnglistx: case D.DW_FORM_GNU_addr_index: case D.DW_FORM_GNU_str_index:
      return c.uleb();
    case D.DW_FORM_ref_udata: return u.offset + c.uleb();
    case D.DW_FORM_string: return c.cstr();
    case D.DW_FORM_strp: return stringAt(s.str, c.uN(u.offsetSize), ".debug_str", fail);
    case D.DW_FORM_line_strp: return stringAt(s.lineStr, c.uN(u.offsetSize), ".debug_line_str", fail);
    // DWARF 2 wrote ref_addr as an address; every later version as an offset.
    case D.DW_FORM_ref_addr: return c.uN(u.version <= 2 ? u.addrSize : u.offsetSize);
    case D.DW_FORM_sec_offset: case D.DW_FORM_strp_sup: case D.DW_FORM_GNU_ref_alt: case D.DW_FORM_GNU_strp_alt:
      return c.uN(u.offsetSize);
    case D.DW_FORM_block1: c.skip(c.u8()); return undefined;
    case D.DW_FORM_block2: c.skip(c.u16()); return undefined;
    case D.DW_FORM_block4: c.skip(c.u32()); return undefined;
    case D.DW_FORM_block: case D.DW_FORM_exprloc: c.skip(c.uleb()); return undefined;
    case D.DW_FORM_flag_present: return true;
    case D.DW_FORM_implicit_const: return implicit;
    case D.DW_FORM_indirect: return readForm(c, c.uleb(), u, s, implicit, fail);
    default: throw fail(`unknown DWARF form 0x${form.toString(16)} at offset ${c.pos}`);
  }
}

/** The unit header at `c.pos` (DWARF 2–5); leaves the cursor on the first DIE. */
function readUnitHeader(c: Cursor, fail: (why: string) => Error): Unit & { end: number; abbrevOffset: number } {
  const offset = c.pos;
  let length = c.u32(), offsetSize = 4;
  if (length === 0xffffffff) { length = c.u64(); offsetSize = 8; }
  const end = c.pos + length;
  const version = c.u16();
  if (version < 2 || version > 5) throw fail(`unit at offset ${offset} has DWARF version ${version}`);
  let addrSize: number, abbrevOffset: number;
  if (version >= 5) {
    const type = c.u8();
    addrSize = c.u8();
    abbrevOffset = c.uN(offsetSize);
    if (type === D.DW_UT_skeleton || type === D.DW_UT_split_compile) c.skip(8);
    else if (type === D.DW_UT_type || type === D.DW_UT_split_type) c.skip(8 + offsetSize);
  } else {
    abbrevOffset = c.uN(offsetSize);
    addrSize = c.u8();
  }
  return { offset, offsetSize, addrSize, version, end, abbrevOffset };
}

/** Why an object without any DWARF has none. */
export const NO_DEBUG_INFO = "no .debug_info section";

/**
 * Why this reader cannot read `elf`'s DWARF (none, or compressed by
 * CONFIG_DEBUG_INFO_COMPRESSED), or undefined when it can.
 */
export function unreadableDwarf(elf: ElfFile): string | undefined {
  const info = elf.sections.find((s) => s.name === ".debug_info");
  if (!info) return NO_DEBUG_INFO;
  if (info.flags & SHF_COMPRESSED) return ".debug_info is compressed (CONFIG_DEBUG_INFO_COMPRESSED), which klpkit does not read";
  return undefined;
}

/** Every DIE of the object's `.debug_info`, keeping the attributes named in `keep`. */
export function readDebugInfo(elf: ElfFile, arch: Arch, keep: ReadonlySet<number>): DebugInfo {
  const fail = (why: string) => badInput(elf.path, `.debug_info: ${why}`);
  const info = relocatedSection(elf, arch, ".debug_info");
  const abbrevData = relocatedSection(elf, arch, ".debug_abbrev");
  if (!info || !abbrevData) throw badInput(elf.path, "no DWARF debug info (.debug_info/.debug_abbrev); build with CONFIG_DEBUG_INFO");
  const strings: Strings = { str: relocatedSection(elf, arch, ".debug_str"), lineStr: relocatedSection(elf, arch, ".debug_line_str") };
  const strOffsets = relocatedSection(elf, arch, ".debug_str_offsets");
  const abbrevCache = new Map<number, Map<number, Abbrev>>();
  const dies: Die[] = [];
  const byOffset = new Map<number, number>();
  const c = new Cursor(info, 0, fail, elf.order);
  while (c.pos < info.length) {
    const u = readUnitHeader(c, fail);
    let abbrevs = abbrevCache.get(u.abbrevOffset);
    if (!abbrevs) {
      abbrevs = readAbbrevs(abbrevData, u.abbrevOffset, (why) => badInput(elf.path, `.debug_abbrev: ${why}`), elf.order);
      abbrevCache.set(u.abbrevOffset, abbrevs);
    }
    const parents: number[] = [];
    let strBase: number | undefined;
    /** The name a string index stands for: .debug_str_offsets[base + i] → .debug_str. */
    const indexed = (i: number, offset: number): string => {
      const at = strBase === undefined ? -1 : strBase + i * u.offsetSize;
      if (!strOffsets || at < 0 || at + u.offsetSize > strOffsets.length) {
        throw fail(`DIE at offset ${offset} names string ${i}, but the unit has no usable DW_AT_str_offsets_base`);
      }
      return stringAt(strings.str, new Cursor(strOffsets, at, fail, elf.order).uN(u.offsetSize), ".debug_str", fail);
    };
    while (c.pos < u.end) {
      const offset = c.pos;
      const code = c.uleb();
      if (code === 0) { parents.pop(); continue; }
      const a = abbrevs.get(code);
      if (!a) throw fail(`DIE at offset ${offset} uses abbreviation ${code}, which the unit does not define`);
      const attrs = new Map<number, AttrValue>();
      const where = new Map<number, number>();
      const byIndex: [number, number][] = [];
      for (const at of a.attrs) {
        const pos = c.pos;
        const v = readForm(c, at.form, u, strings, at.implicit, fail);
        if (at.name === D.DW_AT_str_offsets_base && typeof v === "number") strBase = v;
        if (!keep.has(at.name)) continue;
        // A block (DW_AT_location as an expression) is kept as where it is: its presence is the fact.
        if (v === undefined) { where.set(at.name, pos); continue; }
        if (STRING_INDEX.has(at.form)) byIndex.push([at.name, v as number]);
        else attrs.set(at.name, v);
        where.set(at.name, pos);
      }
      // The unit's root DIE may name itself before it gives its str_offsets_base.
      for (const [name, i] of byIndex) attrs.set(name, indexed(i, offset));
      byOffset.set(offset, dies.length);
      dies.push({ offset, tag: a.tag, parent: parents.length ? parents[parents.length - 1]! : -1, attrs, at: where });
      if (a.children) parents.push(dies.length - 1);
    }
    c.pos = u.end;
  }
  return { dies, byOffset };
}
