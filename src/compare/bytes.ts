// Byte comparison outside relocation fields and ignored ranges.
import type { Arch } from "../arch/index.js";
import type { RelocSpan } from "../elf/relocs.js";

/** Byte ranges [offset, length] of the relocation fields of a span (what the linker fills in). */
export function relocMasks(rs: RelocSpan, arch: Arch): [number, number][] {
  const out: [number, number][] = new Array(rs.length);
  for (let i = 0; i < rs.length; i++) out[i] = [rs.offset(i), arch.relocWidth(rs.type(i))];
  return out;
}

/**
 * Offset of the first differing byte outside the relocation fields of `rs` and the `extra`
 * ranges, or -1. Equal bytes, as most functions of a stable update have, need no masks at all.
 * A relocation that writes a bit-field of an instruction (AArch64: `add x0, x1, #:lo12:sym`
 * fills imm12 only) masks just those bits: the opcode and registers around them still count.
 */
export function firstDifferenceOutside(a: Buffer, b: Buffer, rs: RelocSpan, arch: Arch, extra: readonly (readonly [number, number])[] = []): number {
  if (a.length === b.length && a.equals(b)) return -1;
  const bytes = firstDifference(a, b, [...relocMasks(rs, arch), ...extra]);
  const bits = firstFieldDifference(a, b, rs, arch, extra);
  return bits < 0 ? bytes : bytes < 0 ? bits : Math.min(bytes, bits);
}

const inRanges = (at: number, ranges: readonly (readonly [number, number])[]) =>
  ranges.some(([start, len]) => at >= start && at < start + len);

/** Offset of the first instruction word with a bit-field relocation that differs outside it, or -1. */
function firstFieldDifference(a: Buffer, b: Buffer, rs: RelocSpan, arch: Arch, extra: readonly (readonly [number, number])[]): number {
  let first = -1;
  for (let i = 0; i < rs.length; i++) {
    const field = arch.relocFieldBits(rs.type(i)), at = rs.offset(i);
    if (!field || at + 4 > a.length || at + 4 > b.length || inRanges(at, extra)) continue;
    const keep = ~field >>> 0;
    if (((a.readUInt32LE(at) & keep) >>> 0) !== ((b.readUInt32LE(at) & keep) >>> 0) && (first < 0 || at < first)) first = at;
  }
  return first;
}

/** Offset of the first differing byte outside `masks`, or -1. */
export function firstDifference(a: Buffer, b: Buffer, masks: readonly (readonly [number, number])[]): number {
  const n = Math.min(a.length, b.length);
  if (a.length === b.length && a.equals(b)) return -1;
  if (!masks.length) return a.length === b.length ? firstByte(a, b, 0, n) : n;
  const sorted = [...masks].sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [start, len] of [...sorted, [n, 0] as const]) {
    if (start > at) {
      const end = Math.min(start, n);
      if (!a.subarray(at, end).equals(b.subarray(at, end))) return firstByte(a, b, at, end);
    }
    at = Math.max(at, start + len);
  }
  return a.length === b.length ? -1 : n;
}

function firstByte(a: Buffer, b: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return i;
  return to;
}
