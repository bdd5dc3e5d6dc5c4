// Reads a relocatable object without the sections no diff looks at. DWARF is most of a kernel
// object built with -g (kernel/signal.o: 1.0 of its 1.27 MB are .debug_* and .rela.debug_*), and
// reading it cost page faults and copies for nothing. The file's bytes land at their own offsets
// of a zero-filled buffer; the sections left out are listed, and ElfFile reads one of them from
// the file the first time anything asks for its bytes. Any header this cannot read with
// certainty makes it read the whole file, for ElfFile.parse to report.
import { closeSync, openSync, readSync } from "node:fs";
import { bigEndian, littleEndian, Words } from "./bytes.js";
import * as C from "./constants.js";
import { badInput } from "../errors.js";

export interface SparseObject {
  /** As long as the file; the bytes of `unread` sections are zeros until read. */
  readonly buf: Buffer;
  /** Non-allocated sections other than symbol and string tables (DWARF, .comment …) and their RELA. */
  readonly unread: Set<number>;
}

/** Ranges closer than this are read with one call, gap included. */
const GAP = 4096;

/** Fills `buf[at, end)` from the file at the same offsets; false when the file is shorter. */
export function readRange(fd: number, buf: Buffer, at: number, end: number): boolean {
  while (at < end) {
    const n = readSync(fd, buf, at, end - at, at);
    if (n === 0) return false;
    at += n;
  }
  return true;
}

/** Reads the object open as `fd` (`size` bytes), leaving out what a diff does not read. */
export function readSparse(fd: number, size: number): SparseObject {
  const buf = Buffer.alloc(size);
  const whole = (): SparseObject => {
    readRange(fd, buf, 0, size);
    return { buf, unread: new Set() };
  };
  if (size < C.EHDR_SIZE || !readRange(fd, buf, 0, C.EHDR_SIZE)) return whole();
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== C.ELFCLASS64) return whole();
  const order = buf[5] === C.ELFDATA2MSB ? bigEndian : buf[5] === C.ELFDATA2LSB ? littleEndian : undefined;
  if (!order) return whole();
  const shoff = order.u64(buf, 40), shnum = order.u16(buf, 60);
  // shnum 0 (more than 0xff00 sections, the count in section 0) and odd headers: read it all.
  if (shnum === 0 || order.u16(buf, 58) !== C.SHDR_SIZE || shoff < C.EHDR_SIZE || shoff + shnum * C.SHDR_SIZE > size) return whole();
  if (!readRange(fd, buf, shoff, shoff + shnum * C.SHDR_SIZE)) return whole();

  // Section header words (bytes.ts): type 1, flags 2-3, offset 6-7, size 8-9, info 11.
  const h = new Words(buf, shoff, shnum * 16, order), w = h.w;
  const kept = (type: number, flags: number) => (flags & C.SHF_ALLOC) !== 0
    || type === C.SHT_SYMTAB || type === C.SHT_STRTAB || type === C.SHT_SYMTAB_SHNDX || type === C.SHT_GROUP;
  const unread = new Set<number>();
  // [start, end) of each section to read, in one typed array: an array per section was a tenth
  // of what a small pair's diff allocated (kernel/params.o: 347 sections).
  const ranges = new Float64Array(2 * shnum);
  let nranges = 0, sorted = true;
  for (let i = 1; i < shnum; i++) {
    const k = i * 16, type = w[k + 1]!, flags = h.u64(k + 2), offset = h.u64(k + 6), length = h.u64(k + 8);
    if (type === C.SHT_NOBITS || length === 0) continue;
    if (offset + length > size) return whole();
    const relocates = type === C.SHT_RELA || type === C.SHT_REL;
    const target = relocates ? w[k + 11]! : 0;
    const skip = relocates
      ? target > 0 && target < shnum && !kept(w[target * 16 + 1]!, h.u64(target * 16 + 2))
      : !kept(type, flags);
    if (skip) { unread.add(i); continue; }
    if (nranges && offset < ranges[2 * nranges - 2]!) sorted = false;
    ranges[2 * nranges] = offset;
    ranges[2 * nranges++ + 1] = offset + length;
  }
  // gcc and clang lay sections out in index order; any other order is sorted here, in place.
  if (!sorted) {
    const pairs = Array.from({ length: nranges }, (_, k) => [ranges[2 * k]!, ranges[2 * k + 1]!]).sort((a, b) => a[0]! - b[0]!);
    pairs.forEach(([at, end], k) => ranges.set([at!, end!], 2 * k));
  }
  for (let k = 0; k < nranges;) {
    const at = ranges[2 * k]!;
    let end = ranges[2 * k++ + 1]!;
    while (k < nranges && ranges[2 * k]! <= end + GAP) end = Math.max(end, ranges[2 * k++ + 1]!);
    if (!readRange(fd, buf, at, end)) return whole();
  }
  return { buf, unread };
}

/** The bytes of one section left out by readSparse, read now from the file at `path`. */
export function readLater(path: string, buf: Buffer, offset: number, length: number): void {
  const fd = openSync(path, "r");
  try {
    if (!readRange(fd, buf, offset, offset + length)) throw badInput(path, "file changed while it was read (now shorter)");
  } finally {
    closeSync(fd);
  }
}
