// Reads an ELF64 relocatable object into views over one Buffer. Every offset and index is
// validated here, so layers above never see an out-of-range value: a truncated or corrupted
// object becomes a KlpError naming the file and the field, not a RangeError.
import { badInput } from "../errors.js";
import { bigEndian, littleEndian, Words, type ByteOrder } from "./bytes.js";
import * as C from "./constants.js";
import { RelocTable } from "./relocs.js";
import { readLater } from "./sparse-read.js";
import type { ElfGroup, ElfRela, ElfSection, ElfSymbol } from "./types.js";

const MAX_ALIGN = 1 << 24;

/** Throws `e`: for `value ?? fail(error)`. */
function fail(e: Error): never {
  throw e;
}

export class ElfFile {
  readonly sections: readonly ElfSection[];
  /** Index of SHT_SYMTAB, or 0 when the object has none. */
  readonly symtabIndex: number;
  /** Section index → its RELA section, 0 when none; a second one for the same section in `moreRela`. */
  private readonly relaOf: Uint32Array;
  private readonly moreRela = new Map<number, number[]>();
  private readonly relocCache = new Map<number, RelocTable>();
  private symbolsCache: readonly ElfSymbol[] | undefined;
  /** Sections whose bytes are not in `buf` yet (see sparse-read.ts), read on first use. */
  private readonly unread: Set<number>;

  private constructor(
    readonly path: string,
    readonly buf: Buffer,
    readonly order: ByteOrder,
    readonly type: number,
    readonly machine: number,
    readonly eflags: number,
    readonly osabi: number,
    sections: ElfSection[],
    unread: Set<number>,
  ) {
    this.sections = sections;
    this.unread = unread;
    let symtab = 0;
    for (let i = 0; i < sections.length; i++) {
      if (sections[i]!.type !== C.SHT_SYMTAB) continue;
      if (symtab) throw this.bad("more than one symbol table");
      symtab = i;
    }
    this.symtabIndex = symtab;
    this.relaOf = new Uint32Array(sections.length);
    for (let i = 0; i < sections.length; i++) {
      const s = sections[i]!;
      if (s.type !== C.SHT_RELA && s.type !== C.SHT_REL) continue;
      if (s.type === C.SHT_REL) throw this.bad(`section ${s.name}: SHT_REL relocations are not supported (ELF64 uses RELA)`);
      if (s.info === 0 || s.info >= sections.length) throw this.bad(`section ${s.name}: sh_info ${s.info} names no section`);
      if (s.link !== this.symtabIndex) throw this.bad(`section ${s.name}: sh_link ${s.link} is not the symbol table`);
      if (!this.relaOf[s.info]) this.relaOf[s.info] = s.index;
      else this.moreRela.set(s.info, [...(this.moreRela.get(s.info) ?? []), s.index]);
    }
  }

  /** e_type of an ELF64 file, read before anything else is validated (0 when it is not one). */
  static peekType(buf: Buffer): number {
    if (buf.length < C.EHDR_SIZE || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== C.ELFCLASS64) return 0;
    return buf[5] === C.ELFDATA2MSB ? buf.readUInt16BE(16) : buf.readUInt16LE(16);
  }

  /** `unread`: sections whose bytes `buf` does not hold yet (readSparse); they are read on first use. */
  static parse(path: string, buf: Buffer, unread: Set<number> = new Set()): ElfFile {
    const bad = (why: string) => badInput(path, why);
    if (buf.length < 4 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
      throw bad(buf.length === 0 ? "empty file, not an ELF object" : "not an ELF file (bad magic)");
    }
    if (buf.length < C.EHDR_SIZE) throw bad(`truncated ELF header (${buf.length} of ${C.EHDR_SIZE} bytes)`);
    if (buf[4] !== C.ELFCLASS64) throw bad(buf[4] === 1 ? "32-bit ELF object; klpkit reads ELF64 only" : `bad ELF class ${buf[4]}`);
    const order = buf[5] === C.ELFDATA2LSB ? littleEndian : buf[5] === C.ELFDATA2MSB ? bigEndian : undefined;
    if (!order) throw bad(`bad ELF data encoding ${buf[5]}`);
    const type = order.u16(buf, 16);
    const machine = order.u16(buf, 18);
    const eflags = order.u32(buf, 48);
    const shoff = order.u64(buf, 40);
    const shentsize = order.u16(buf, 58);
    let shnum = order.u16(buf, 60);
    let shstrndx = order.u16(buf, 62);
    if (shoff === 0) throw bad("no section header table");
    if (shentsize !== C.SHDR_SIZE) throw bad(`section header size ${shentsize}, expected ${C.SHDR_SIZE}`);
    if (shoff + C.SHDR_SIZE > buf.length) throw bad(`section header table at ${shoff} lies past the end of the file (${buf.length} bytes)`);
    // Objects with more than 0xff00 sections keep the real counts in section header 0.
    if (shnum === 0) shnum = order.u64(buf, shoff + 32);
    if (shstrndx === C.SHN_XINDEX) shstrndx = order.u32(buf, shoff + 40);
    if (shoff + shnum * C.SHDR_SIZE > buf.length) {
      throw bad(`section header table (${shnum} entries at ${shoff}) is truncated: file has ${buf.length} bytes`);
    }
    if (shstrndx === 0 || shstrndx >= shnum) throw bad(`e_shstrndx ${shstrndx} is out of range (${shnum} sections)`);

    // Sixteen words per header: name 0, type 1, flags 2-3, offset 6-7, size 8-9, link 10,
    // info 11, addralign 12-13, entsize 14-15.
    const h = new Words(buf, shoff, shnum * 16, order), w = h.w;
    for (let i = 1; i < shnum; i++) {
      const k = i * 16, type = w[k + 1]!, offset = h.u64(k + 6), size = h.u64(k + 8);
      if (type !== C.SHT_NOBITS && offset + size > buf.length) {
        throw bad(`section ${i} data (${size} bytes at ${offset}) lies past the end of the file (${buf.length} bytes)`);
      }
      const link = w[k + 10]!, addralign = h.u64(k + 12);
      if (link >= shnum) throw bad(`section ${i}: sh_link ${link} names no section (${shnum} sections)`);
      // sh_addralign is 0 or a power of two; kernel objects use at most a page (4096).
      if (addralign > MAX_ALIGN || (addralign & (addralign - 1)) !== 0) throw bad(`section ${i}: bad alignment ${addralign}`);
    }
    const str = shstrndx * 16;
    if (w[str + 1] !== C.SHT_STRTAB) throw bad(`e_shstrndx ${shstrndx} is not a string table`);
    const names = new StringTable(buf, h.u64(str + 6), h.u64(str + 8));
    const sections: ElfSection[] = new Array(shnum);
    for (let index = 0; index < shnum; index++) {
      const k = index * 16, nameOff = w[k]!;
      sections[index] = {
        index,
        name: index === 0 ? "" : names.at(nameOff) ?? fail(bad(`section ${index}: name at offset ${nameOff} does not end inside the section name table`)),
        type: w[k + 1]!, flags: h.u64(k + 2), offset: h.u64(k + 6), size: h.u64(k + 8),
        link: w[k + 10]!, info: w[k + 11]!, addralign: h.u64(k + 12), entsize: h.u64(k + 14),
      };
    }
    return new ElfFile(path, buf, order, type, machine, eflags, buf[7]!, sections, unread);
  }

  /** The bytes of a section, as a view (no copy). SHT_NOBITS sections have none. */
  data(index: number): Buffer {
    const s = this.sections[index]!;
    if (s.type === C.SHT_NOBITS || s.type === C.SHT_NULL) return this.buf.subarray(0, 0);
    this.need(s);
    return this.buf.subarray(s.offset, s.offset + s.size);
  }

  /** Bytes [start, end) of a section that has them, as one view (no copy). */
  bytes(index: number, start: number, end: number): Buffer {
    const s = this.sections[index]!;
    this.need(s);
    return this.buf.subarray(s.offset + start, s.offset + end);
  }

  /** Brings the bytes of `s` into `buf` when sparse-read.ts left them out. */
  private need(s: ElfSection): void {
    if (this.unread.size === 0 || !this.unread.has(s.index)) return;
    readLater(this.path, this.buf, s.offset, s.size);
    this.unread.delete(s.index);
  }

  /** The symbol table, read on first use (a module's .modinfo reader never needs it). */
  get symbols(): readonly ElfSymbol[] {
    this.symbolsCache ??= this.symtabIndex ? this.readSymbols(this.sections[this.symtabIndex]!) : [];
    return this.symbolsCache;
  }

  /**
   * Relocations that apply to section `target`, sorted by offset, read on first use: a diff
   * reads those of the code and data it compares, never those of the DWARF sections.
   */
  relocTable(target: number): RelocTable {
    let t = this.relocCache.get(target);
    if (!t) {
      const relas = this.relasOf(target);
      t = relas.length === 0 ? RelocTable.empty : sortedTable(relas.map((ri) => this.decodeRela(this.sections[ri]!)));
      this.relocCache.set(target, t);
    }
    return t;
  }

  /** The RELA sections that apply to section `target`, in file order. */
  private relasOf(target: number): number[] {
    const first = this.relaOf[target] ?? 0;
    return first ? [first, ...(this.moreRela.get(target) ?? [])] : [];
  }

  /** The RELA sections of this object, each with the section it applies to. */
  relaSections(): { rela: ElfSection; target: ElfSection }[] {
    const out = [];
    for (let target = 0; target < this.relaOf.length; target++) {
      for (const r of this.relasOf(target)) out.push({ rela: this.sections[r]!, target: this.sections[target]! });
    }
    return out.sort((a, b) => a.rela.index - b.rela.index);
  }

  /** The raw relocation entries of one RELA section, in file order. */
  readRela(s: ElfSection): ElfRela[] {
    const t = this.decodeRela(s);
    return Array.from({ length: t.length }, (_, i) => t.at(i));
  }

  /** One RELA section decoded and validated, in file order. */
  private decodeRela(s: ElfSection): RelocTable {
    if (s.entsize !== C.RELA_SIZE) throw this.bad(`section ${s.name}: RELA entry size ${s.entsize}, expected ${C.RELA_SIZE}`);
    const { buf, order } = this;
    const target = this.sections[s.info]!;
    const nsyms = this.symbols.length;
    this.need(s);
    const n = Math.floor(s.size / C.RELA_SIZE);
    const end = target.type !== C.SHT_NOBITS ? target.size : 2 ** 32;
    // Six words per entry: r_offset 0-1, r_info 2-3 (symbol in its high half, type in its low),
    // r_addend 4-5.
    const r = new Words(buf, s.offset, n * 6, order);
    let wide = false;
    for (let i = 0; i < n && !wide; i++) wide = !r.fitsI32(i * 6 + 4);
    const t = RelocTable.alloc(n, wide);
    for (let i = 0; i < n; i++) {
      const w = i * 6;
      const offset = r.u64(w), sym = r.half(w + 2, 1);
      if (sym >= nsyms) throw this.bad(`section ${s.name}: relocation ${i} uses symbol ${sym}, but the symbol table has ${nsyms}`);
      if (offset >= end) {
        throw this.bad(`section ${s.name}: relocation ${i} at offset ${offset} lies past the end of ${target.name} (${target.size} bytes)`);
      }
      t.offsets[i] = offset;
      t.syms[i] = sym;
      t.types[i] = r.half(w + 2, 0);
      t.addends[i] = wide ? r.i64(w + 4) : r.lowSigned(w + 4);
    }
    return t;
  }

  /** SHT_GROUP sections (COMDAT and section groups). */
  groups(): ElfGroup[] {
    const out: ElfGroup[] = [];
    for (const s of this.sections) {
      if (s.type !== C.SHT_GROUP) continue;
      const d = this.data(s.index);
      if (d.length < 4 || d.length % 4) throw this.bad(`group section ${s.name} has size ${d.length}, not a multiple of 4`);
      const members: number[] = [];
      for (let o = 4; o < d.length; o += 4) {
        const m = this.order.u32(d, o);
        if (m === 0 || m >= this.sections.length) throw this.bad(`group section ${s.name} names section ${m}, which does not exist`);
        members.push(m);
      }
      if (s.info >= this.symbols.length) throw this.bad(`group section ${s.name}: signature symbol ${s.info} out of range`);
      out.push({ section: s.index, flags: this.order.u32(d, 0), members, signature: s.info });
    }
    return out;
  }

  private readSymbols(symtab: ElfSection): ElfSymbol[] {
    const { buf, order } = this;
    if (symtab.entsize !== C.SYM_SIZE) throw this.bad(`symbol table entry size ${symtab.entsize}, expected ${C.SYM_SIZE}`);
    const strtab = this.sections[symtab.link]!;
    if (strtab.type !== C.SHT_STRTAB) throw this.bad(`symbol table's sh_link ${symtab.link} is not a string table`);
    const xindex = this.sections.find((s) => s.type === C.SHT_SYMTAB_SHNDX && s.link === symtab.index);
    for (const s of [symtab, strtab, ...(xindex ? [xindex] : [])]) this.need(s);
    const n = Math.floor(symtab.size / C.SYM_SIZE);
    if (xindex && xindex.size < n * 4) throw this.bad(`SHT_SYMTAB_SHNDX section is shorter than the symbol table`);
    const names = new StringTable(buf, strtab.offset, strtab.size);
    const nsections = this.sections.length;
    const out: ElfSymbol[] = new Array(n);
    // Six words per symbol: name 0, info/other/shndx 1 (read as bytes), value 2-3, size 4-5.
    const t = new Words(buf, symtab.offset, n * 6, order), w = t.w;
    for (let i = 0; i < n; i++) {
      const o = symtab.offset + i * C.SYM_SIZE, k = i * 6;
      const nameOff = w[k]!;
      const info = buf[o + 4]!;
      let shndx = order.u16(buf, o + 6);
      if (shndx === C.SHN_XINDEX && xindex) shndx = order.u32(buf, xindex.offset + i * 4);
      if (shndx !== C.SHN_UNDEF && shndx < C.SHN_LORESERVE && shndx >= nsections) {
        throw this.bad(`symbol ${i}: section index ${shndx} is out of range (${nsections} sections)`);
      }
      out[i] = {
        index: i,
        name: names.at(nameOff) ?? fail(this.bad(`symbol ${i}: name at offset ${nameOff} does not end inside the string table (${strtab.size} bytes)`)),
        value: t.u64(k + 2),
        size: t.u64(k + 4),
        bind: info >> 4,
        type: info & 0xf,
        other: buf[o + 5]!,
        shndx,
      };
    }
    return out;
  }

  bad(why: string) {
    return badInput(this.path, why);
  }
}

/**
 * One table from several RELA sections of the same target, sorted by offset (stable). Kernel
 * code relocations come nearly sorted: objtool leaves the `jmp __x86_return_thunk` of a function
 * at the end of its .rela.text.<fn> (kernel/signal.o: 124 of 131 code sections), so an insertion
 * sort moves one entry each; a table far from sorted (a fuzzed object) is sorted outright.
 */
function sortedTable(parts: RelocTable[]): RelocTable {
  const one = parts.length === 1 ? parts[0]! : concat(parts);
  const o = one.offsets, n = o.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = o[i - 1]! <= o[i]!;
  if (sorted) return one;
  const order = insertionOrder(o) ?? Array.from({ length: n }, (_, i) => i).sort((a, b) => o[a]! - o[b]! || a - b);
  const t = RelocTable.alloc(n, one.wide);
  for (let i = 0; i < n; i++) {
    const k = order[i]!;
    t.offsets[i] = o[k]!;
    t.syms[i] = one.syms[k]!;
    t.types[i] = one.types[k]!;
    t.addends[i] = one.addends[k]!;
  }
  return t;
}

/** The stable sorting permutation of nearly sorted `keys`, or undefined after too many moves. */
function insertionOrder(keys: Uint32Array): Uint32Array | undefined {
  const n = keys.length, order = new Uint32Array(n);
  let budget = 8 * n;
  for (let i = 0; i < n; i++) {
    const k = order[i] = i, v = keys[k]!;
    let j = i - 1;
    for (; j >= 0 && keys[order[j]!]! > v; j--) {
      if (--budget < 0) return undefined;
      order[j + 1] = order[j]!;
    }
    order[j + 1] = k;
  }
  return order;
}

function concat(parts: RelocTable[]): RelocTable {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const t = RelocTable.alloc(n, parts.some((p) => p.wide));
  let at = 0;
  for (const p of parts) {
    t.offsets.set(p.offsets, at);
    t.syms.set(p.syms, at);
    t.types.set(p.types, at);
    t.addends.set(p.addends, at);
    at += p.length;
  }
  return t;
}

/**
 * A string table (.strtab, .shstrtab) decoded once: every name is a slice of one string, where
 * decoding each name from the Buffer cost a native call and a copy per symbol (fs/namei.o: 1 400
 * symbols and 1 100 section names).
 */
class StringTable {
  private text: string | undefined;
  constructor(private readonly buf: Buffer, private readonly offset: number, private readonly size: number) {}

  /**
   * The NUL-terminated name at `off`; undefined when it does not end inside its table. No error
   * callback: a closure per symbol and section was a tenth of what reading them allocated.
   */
  at(off: number): string | undefined {
    if (off >= this.size) return off === 0 ? "" : undefined;
    this.text ??= this.buf.toString("latin1", this.offset, this.offset + this.size);
    const end = this.text.indexOf("\0", off);
    // Reading on past the table would take bytes of the next section.
    return end < 0 ? undefined : this.text.slice(off, end);
  }
}
