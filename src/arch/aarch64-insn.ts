// AArch64 instructions are 4-byte little-endian words; the few the engine reads are told by bit
// masks (Arm ARM, "A64 instruction set encoding"). No decoder library: these five are enough.

/** The word at byte offset `at`, or undefined past the end. */
export function wordAt(code: Buffer, at: number): number | undefined {
  return at >= 0 && at + 4 <= code.length ? code.readUInt32LE(at) : undefined;
}

/** `nop` (HINT #0): what -fpatchable-function-entry emits, and ftrace turns into a call. */
export const NOP = 0xd503201f;

/**
 * Landing pads a function may start with before its patchable entry: `bti c` (HINT #34),
 * `bti jc` (HINT #38), and `paciasp` (HINT #25) which gcc puts first under pac-ret when the
 * entry NOPs follow it.
 */
const LANDING_PADS = new Set([0xd503245f, 0xd50324df, 0xd503233f]);

export const isNop = (w: number | undefined) => w === NOP;
export const isLandingPad = (w: number | undefined) => w !== undefined && LANDING_PADS.has(w);

/** `bl imm26` and `b imm26` (a tail call): opcode bits 31..26 are 100101 and 000101. */
export const isBranchLink = (w: number) => (w & 0xfc000000) >>> 0 === 0x94000000;
export const isBranch = (w: number) => (w & 0xfc000000) >>> 0 === 0x14000000;

/** MOVZ of a 32- or 64-bit register (`mov w1, #0x2a`): opc 10, 100101 in bits 28..23. */
export const isMovz = (w: number) => (w & 0x7f800000) >>> 0 === 0x52800000;

/** The destination register (Rd, bits 4..0) of a data-processing instruction. */
export const destReg = (w: number) => w & 0x1f;

/** MOVZ's imm16 field, bits 20..5. */
export const MOVZ_IMM16 = 0x001fffe0;
