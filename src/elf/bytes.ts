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

/** A 64-bit unsigned value from its 32-bit halves (each 0 … 2^32-1). */
export function joinU64(lo: number, hi: number): number {
  return hi === 0 ? lo : lo + hi * TWO32;
}

/** A 64-bit signed value from its 32-bit halves, each read as a signed 32-bit integer. */
export function joinI64(lo: number, hi: number): number {
  // -4 (a PC-relative addend) is all ones above the low word, which is then its own value.
  if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) return lo;
  return (lo >= 0 ? lo : lo + TWO32) + hi * TWO32;
}

/** Node's own check: a read past the end is a RangeError, never `undefined` bytes. */
function inBounds(b: Buffer, o: number, n: number): void {
  if (!(o >= 0 && o + n <= b.length)) throw new RangeError(`reading ${n} bytes at ${o} of a ${b.length}-byte buffer`);
}

/**
 * Little-endian reads by bytes: Buffer's readUInt32LE boxes its intermediate products as heap
 * numbers in V8's interpreter, where a short `klp diff` runs, and reading every section header,
 * symbol and relocation of fs/namei.o that way allocated ~1 MB of them. Values that fit 32 bits
 * (nearly all offsets, sizes and addends such as -4) come out as small integers.
 */
const le32 = (b: Buffer, o: number) => {
  inBounds(b, o, 4);
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
};
const leU32 = (b: Buffer, o: number) => {
  const v = le32(b, o);
  return v >= 0 ? v : v + TWO32;
};

export const littleEndian: ByteOrder = {
  little: true,
  u8: (b, o) => b[o]!,
  u16: (b, o) => {
    inBounds(b, o, 2);
    return b[o]! | (b[o + 1]! << 8);
  },
  u32: leU32,
  i32: le32,
  u64: (b, o) => joinU64(leU32(b, o), leU32(b, o + 4)),
  i64: (b, o) => joinI64(le32(b, o), le32(b, o + 4)),
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

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A table of 32-bit words read field by field (section headers, symbols), in the host's order:
 * a view of `b` when the file's order is the host's and the table is 4-aligned, else a copy
 * (swapped when the orders differ). Indexing it costs no call, where a short `klp diff`, which
 * runs in V8's interpreter, paid one for every field of every header and symbol. The caller has
 * checked that `[off, off + 4 * count)` lies inside `b`.
 */
export class Words {
  readonly w: Uint32Array;
  /**
   * The same words read as signed: an element of a Uint32Array at or above 2^31 (the high half
   * of an addend of -4) is a new heap number in V8's interpreter, one of an Int32Array is not.
   */
  private readonly s: Int32Array;
  /** Whether a 64-bit field's low half is its first word (the file is little-endian). */
  private readonly lowFirst: boolean;

  constructor(b: Buffer, off: number, count: number, order: ByteOrder) {
    this.lowFirst = order.little;
    if (order.little === HOST_LITTLE && (b.byteOffset + off) % 4 === 0) {
      this.w = new Uint32Array(b.buffer, b.byteOffset + off, count);
      this.s = new Int32Array(b.buffer, b.byteOffset + off, count);
    } else {
      const copy = new Uint8Array(4 * count); // its own buffer: aligned
      copy.set(b.subarray(off, off + 4 * count));
      if (order.little !== HOST_LITTLE) Buffer.from(copy.buffer).swap32();
      this.w = new Uint32Array(copy.buffer);
      this.s = new Int32Array(copy.buffer);
    }
  }

  /** The 64-bit field whose first word is `k`, as a number (offsets and sizes never near 2^53). */
  u64(k: number): number {
    const a = this.w[k]!, b = this.w[k + 1]!;
    return this.lowFirst ? joinU64(a, b) : joinU64(b, a);
  }

  /** The signed 64-bit field whose first word is `k` (an addend). */
  i64(k: number): number {
    const a = this.s[k]!, b = this.s[k + 1]!;
    return this.lowFirst ? joinI64(a, b) : joinI64(b, a);
  }

  /** Whether the signed 64-bit field at `k` fits 32 bits (-4, a field offset: nearly every addend). */
  fitsI32(k: number): boolean {
    const lo = this.s[this.lowFirst ? k : k + 1]!, hi = this.s[this.lowFirst ? k + 1 : k]!;
    return hi === lo >> 31;
  }

  /** Word `j` of the 64-bit field at `k` counted from its low half (0 low, 1 high). */
  half(k: number, j: 0 | 1): number {
    return this.w[k + (this.lowFirst ? j : 1 - j)]!;
  }

  /** The low half of the 64-bit field at `k`, signed (a 32-bit addend). */
  lowSigned(k: number): number {
    return this.s[this.lowFirst ? k : k + 1]!;
  }
}
