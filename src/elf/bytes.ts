// Endian-aware integer access over one Buffer. Every read is bounds-checked by the caller's
// layout validation; these helpers only pick the byte order.

export interface ByteOrder {
  readonly little: boolean;
  u8(b: Buffer, off: number): number;
  u16(b: Buffer, off: number): number;
  u32(b: Buffer, off: number): number;
  i32(b: Buffer, off: number): number;
  /** 64-bit values as numbers: offsets and sizes in objects never approach 2^53. */
  u64(b: Buffer, off: number): number;
  i64(b: Buffer, off: number): number;
  w16(b: Buffer, off: number, v: number): void;
  w32(b: Buffer, off: number, v: number): void;
  w64(b: Buffer, off: number, v: number): void;
}

const TWO32 = 0x1_0000_0000;

export const littleEndian: ByteOrder = {
  little: true,
  u8: (b, o) => b[o]!,
  u16: (b, o) => b.readUInt16LE(o),
  u32: (b, o) => b.readUInt32LE(o),
  i32: (b, o) => b.readInt32LE(o),
  u64: (b, o) => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * TWO32,
  i64: (b, o) => b.readUInt32LE(o) + b.readInt32LE(o + 4) * TWO32,
  w16: (b, o, v) => { b.writeUInt16LE(v, o); },
  w32: (b, o, v) => { b.writeUInt32LE(v >>> 0, o); },
  w64: (b, o, v) => { b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Math.trunc(v))), o); },
};

export const bigEndian: ByteOrder = {
  little: false,
  u8: (b, o) => b[o]!,
  u16: (b, o) => b.readUInt16BE(o),
  u32: (b, o) => b.readUInt32BE(o),
  i32: (b, o) => b.readInt32BE(o),
  u64: (b, o) => b.readUInt32BE(o + 4) + b.readUInt32BE(o) * TWO32,
  i64: (b, o) => b.readUInt32BE(o + 4) + b.readInt32BE(o) * TWO32,
  w16: (b, o, v) => { b.writeUInt16BE(v, o); },
  w32: (b, o, v) => { b.writeUInt32BE(v >>> 0, o); },
  w64: (b, o, v) => { b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(Math.trunc(v))), o); },
};
