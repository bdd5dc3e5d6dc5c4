// Test-side ELF64 little-endian helpers: read and patch header, section header, symbol and
// relocation fields at their known offsets with plain Buffer reads/writes. Deliberately
// independent of src/elf so that the tests that corrupt objects do not trust the reader they test.
//
// Also compiles the small C samples of test/bad-input/ the way kbuild compiles a kernel object.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "./klp.js";

export const EHDR_SIZE = 64;
export const SHDR_SIZE = 64;
export const SYM_SIZE = 24;
export const RELA_SIZE = 24;

export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;

export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

/** [offset, size] of every ELF64 header field after e_ident. */
export const EHDR = {
  e_type: [16, 2], e_machine: [18, 2], e_version: [20, 4], e_entry: [24, 8], e_phoff: [32, 8],
  e_shoff: [40, 8], e_flags: [48, 4], e_ehsize: [52, 2], e_phentsize: [54, 2], e_phnum: [56, 2],
  e_shentsize: [58, 2], e_shnum: [60, 2], e_shstrndx: [62, 2],
} as const satisfies Record<string, readonly [number, number]>;

/** [offset, size] of every Elf64_Shdr field. */
export const SHDR = {
  sh_name: [0, 4], sh_type: [4, 4], sh_flags: [8, 8], sh_addr: [16, 8], sh_offset: [24, 8], sh_size: [32, 8],
  sh_link: [40, 4], sh_info: [44, 4], sh_addralign: [48, 8], sh_entsize: [56, 8],
} as const satisfies Record<string, readonly [number, number]>;

/** [offset, size] of every Elf64_Sym field. */
export const SYM = {
  st_name: [0, 4], st_info: [4, 1], st_other: [5, 1], st_shndx: [6, 2], st_value: [8, 8], st_size: [16, 8],
} as const satisfies Record<string, readonly [number, number]>;

/** [offset, size] of every Elf64_Rela field (r_info: symbol index in the high 32 bits, type in the low). */
export const RELA = { r_offset: [0, 8], r_info: [8, 8], r_addend: [16, 8] } as const satisfies Record<string, readonly [number, number]>;

export type EhdrField = keyof typeof EHDR;
export type ShdrField = keyof typeof SHDR;
export type SymField = keyof typeof SYM;
export type RelaField = keyof typeof RELA;

/** Reads an unsigned little-endian field of 1, 2, 4 or 8 bytes (8-byte values as Number; fine for real objects). */
export function getU(buf: Buffer, off: number, size: number): number {
  switch (size) {
    case 1: return buf.readUInt8(off);
    case 2: return buf.readUInt16LE(off);
    case 4: return buf.readUInt32LE(off);
    case 8: return Number(buf.readBigUInt64LE(off));
    default: throw new Error(`bad field size ${size}`);
  }
}

/** Writes an unsigned little-endian field; the value is truncated to the field's width. */
export function setU(buf: Buffer, off: number, size: number, value: number | bigint): void {
  const v = BigInt.asUintN(size * 8, BigInt(value));
  switch (size) {
    case 1: buf.writeUInt8(Number(v), off); break;
    case 2: buf.writeUInt16LE(Number(v), off); break;
    case 4: buf.writeUInt32LE(Number(v), off); break;
    case 8: buf.writeBigUInt64LE(v, off); break;
    default: throw new Error(`bad field size ${size}`);
  }
}

export const ehdr = (buf: Buffer, f: EhdrField) => getU(buf, EHDR[f][0], EHDR[f][1]);
export const setEhdr = (buf: Buffer, f: EhdrField, v: number | bigint) => setU(buf, EHDR[f][0], EHDR[f][1], v);

export interface Shdr {
  index: number;
  /** File offset of this section header. */
  hdr: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

/** The section headers of a well-formed object, with names from .shstrtab. */
export function sections(buf: Buffer): Shdr[] {
  const shoff = ehdr(buf, "e_shoff"), shnum = ehdr(buf, "e_shnum"), shstrndx = ehdr(buf, "e_shstrndx");
  const raw = Array.from({ length: shnum }, (_, index) => {
    const hdr = shoff + index * SHDR_SIZE;
    const f = (k: ShdrField) => getU(buf, hdr + SHDR[k][0], SHDR[k][1]);
    return {
      index, hdr, nameOff: f("sh_name"), type: f("sh_type"), flags: f("sh_flags"), offset: f("sh_offset"),
      size: f("sh_size"), link: f("sh_link"), info: f("sh_info"), entsize: f("sh_entsize"),
    };
  });
  const strs = raw[shstrndx]!;
  return raw.map(({ nameOff, ...s }) => ({ ...s, name: cstr(buf, strs.offset + nameOff) }));
}

export const shdrFieldOff = (s: Shdr, f: ShdrField) => s.hdr + SHDR[f][0];
export const setShdr = (buf: Buffer, s: Shdr, f: ShdrField, v: number | bigint) => setU(buf, shdrFieldOff(s, f), SHDR[f][1], v);

export function cstr(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("latin1", off, end < 0 ? buf.length : end);
}

export function section(buf: Buffer, name: string): Shdr {
  const s = sections(buf).find((x) => x.name === name);
  if (!s) throw new Error(`no section ${name}`);
  return s;
}

export function symtab(buf: Buffer): Shdr {
  const s = sections(buf).find((x) => x.type === SHT_SYMTAB);
  if (!s) throw new Error("no symbol table");
  return s;
}

export interface Sym {
  index: number;
  /** File offset of this Elf64_Sym. */
  at: number;
  name: string;
  nameOff: number;
  info: number;
  shndx: number;
}

export function symbols(buf: Buffer): Sym[] {
  const st = symtab(buf);
  const strtab = sections(buf)[st.link]!;
  return Array.from({ length: st.size / SYM_SIZE }, (_, index) => {
    const at = st.offset + index * SYM_SIZE;
    const nameOff = getU(buf, at + SYM.st_name[0], 4);
    return { index, at, nameOff, name: cstr(buf, strtab.offset + nameOff), info: buf[at + 4]!, shndx: getU(buf, at + 6, 2) };
  });
}

export function symbol(buf: Buffer, name: string): Sym {
  const s = symbols(buf).find((x) => x.name === name);
  if (!s) throw new Error(`no symbol ${name}`);
  return s;
}

export const setSym = (buf: Buffer, s: Sym, f: SymField, v: number | bigint) => setU(buf, s.at + SYM[f][0], SYM[f][1], v);

/** File offset of relocation `i` of a RELA section. */
export const relaAt = (s: Shdr, i: number) => s.offset + i * RELA_SIZE;
export const relaCount = (s: Shdr) => Math.floor(s.size / RELA_SIZE);

/** Sets the symbol index of relocation `i`, keeping its type. */
export function setRelaSym(buf: Buffer, s: Shdr, i: number, sym: number): void {
  const at = relaAt(s, i) + RELA.r_info[0];
  const type = buf.readBigUInt64LE(at) & 0xffffffffn;
  buf.writeBigUInt64LE((BigInt.asUintN(32, BigInt(sym)) << 32n) | type, at);
}

/**
 * A copy of the object with its section header table moved right after the ELF header (every
 * sh_offset shifted to match): truncating the copy inside section data keeps the headers whole.
 */
export function shdrsFirst(buf: Buffer): Buffer {
  const shoff = ehdr(buf, "e_shoff"), shnum = ehdr(buf, "e_shnum");
  const table = Buffer.from(buf.subarray(shoff, shoff + shnum * SHDR_SIZE));
  const shift = table.length;
  const body = buf.subarray(EHDR_SIZE, shoff);
  const out = Buffer.concat([buf.subarray(0, EHDR_SIZE), table, body, buf.subarray(shoff + table.length)]);
  setEhdr(out, "e_shoff", EHDR_SIZE);
  for (let i = 1; i < shnum; i++) {
    const hdr = EHDR_SIZE + i * SHDR_SIZE;
    const off = getU(out, hdr + SHDR.sh_offset[0], 8);
    // Data that lay between the ELF header and the table moves down by the table's size;
    // data after the table keeps its offset.
    if (off >= EHDR_SIZE && off <= shoff) setU(out, hdr + SHDR.sh_offset[0], 8, off + shift);
  }
  return out;
}

export const badInputDir = path.join(repoRoot, "test/bad-input");

/** The flags the kernel-like samples are compiled with (kbuild's x86-64 essentials). */
export const SAMPLE_CFLAGS = [
  "-O2", "-c", "-ffunction-sections", "-fdata-sections", "-mfentry", "-pg", "-mrecord-mcount",
  "-mcmodel=kernel", "-fno-pic", "-fno-asynchronous-unwind-tables",
];

/** The same sample as an arm64 6.12 object: Debian's cross gcc-12, the CALL_OPS ftrace entry. */
export const SAMPLE_AARCH64 = {
  cc: "aarch64-linux-gnu-gcc-12",
  flags: ["-O2", "-c", "-ffunction-sections", "-fdata-sections", "-fpatchable-function-entry=4,2",
    "-mgeneral-regs-only", "-fno-pie", "-fno-asynchronous-unwind-tables"],
} as const;

/**
 * Compiles test/bad-input/NAME.c into OUT with `cc` (default gcc) from a directory where it is
 * called NAME.c, so STT_FILE is NAME.c whatever the output is called. Throws with the compiler's
 * diagnostics if it fails.
 */
export function compileSample(name: string, out: string, opts: { cc?: string; flags?: readonly string[]; extra?: readonly string[] } = {}): string {
  const cc = opts.cc ?? "gcc";
  const src = path.join(badInputDir, `${name}.c`);
  const tmp = fs.mkdtempSync(path.join(path.dirname(path.resolve(out)), ".cc-"));
  try {
    fs.copyFileSync(src, path.join(tmp, `${name}.c`));
    const r = spawnSync(cc, [...(opts.flags ?? SAMPLE_CFLAGS), ...(opts.extra ?? []), `${name}.c`, "-o", path.resolve(out)], { cwd: tmp, encoding: "utf8" });
    if (r.error) throw new Error(`${cc}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${cc} ${name}.c failed (status ${r.status ?? r.signal}):\n${r.stderr}`);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** True if `cmd` can be run (found on PATH and answers --version). */
export function have(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}
