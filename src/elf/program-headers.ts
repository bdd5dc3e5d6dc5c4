// Program headers of an ELF64 little-endian executable (the VM looks at busybox and vmlinux).
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PT_INTERP = 3;

export interface ProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly filesz: number;
  /** Virtual address, low 48 bits (x86-64 kernel addresses are sign-extended 48-bit ones). */
  readonly vaddr48: number;
}

/** The program headers that lie inside `buf`; none when it is not an ELF64 LE file. */
export function programHeaders(buf: Buffer): ProgramHeader[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return [];
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const out: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > buf.length) break;
    out.push({
      type: buf.readUInt32LE(ph), offset: Number(buf.readBigUInt64LE(ph + 8)), filesz: Number(buf.readBigUInt64LE(ph + 32)),
      vaddr48: Number(buf.readBigUInt64LE(ph + 16) & 0xffffffffffffn),
    });
  }
  return out;
}
