// AArch64: relocation types (ELF for the Arm 64-bit Architecture, "Relocation"), the ftrace
// entry (-fpatchable-function-entry NOPs), the shapes of special-section structs over time
// (aarch64-structs.ts) and the __LINE__ check (aarch64-lines.ts).
//
// An AArch64 relocation in code fills an immediate bit-field inside one 4-byte instruction
// (`adrp x0, sym` its immhi:immlo, `add x0, x0, #:lo12:sym` its imm12, `bl sym` its imm26), so
// code compare masks only those bits: `add x0, x1, #:lo12:v` and `add x2, x1, #:lo12:v` differ.
import { EM_AARCH64 } from "../elf/constants.js";
import { differsOnlyInLineNumbers } from "./aarch64-lines.js";
import { isLandingPad, isNop, wordAt } from "./aarch64-insn.js";
import { AARCH64_STRUCTS } from "./aarch64-structs.js";
import type { Arch } from "./types.js";

const R = {
  NONE: 0, ABS64: 257, ABS32: 258, ABS16: 259, PREL64: 260, PREL32: 261, PREL16: 262,
  MOVW_UABS_G0: 263, MOVW_UABS_G0_NC: 264, MOVW_UABS_G1: 265, MOVW_UABS_G1_NC: 266,
  MOVW_UABS_G2: 267, MOVW_UABS_G2_NC: 268, MOVW_UABS_G3: 269,
  LD_PREL_LO19: 273, ADR_PREL_LO21: 274, ADR_PREL_PG_HI21: 275, ADR_PREL_PG_HI21_NC: 276,
  ADD_ABS_LO12_NC: 277, LDST8_ABS_LO12_NC: 278, TSTBR14: 279, CONDBR19: 280, JUMP26: 282,
  CALL26: 283, LDST16_ABS_LO12_NC: 284, LDST32_ABS_LO12_NC: 285, LDST64_ABS_LO12_NC: 286,
  LDST128_ABS_LO12_NC: 299, ADR_GOT_PAGE: 311, LD64_GOT_LO12_NC: 312,
} as const;

const NAMES = new Map<number, string>(Object.entries(R).map(([k, v]) => [v, `R_AARCH64_${k}`]));

/** Data relocations: whole little-endian fields. */
const DATA_WIDTH = new Map<number, number>([
  [R.ABS64, 8], [R.PREL64, 8], [R.ABS32, 4], [R.PREL32, 4], [R.ABS16, 2], [R.PREL16, 2],
]);

/** ADR/ADRP: immlo (bits 30..29) and immhi (bits 23..5). */
const ADR_BITS = 0x60ffffe0;
/** ADD and LDR/STR (unsigned offset): imm12, bits 21..10. */
const IMM12_BITS = 0x003ffc00;
/** MOVZ/MOVK: imm16, bits 20..5. */
const IMM16_BITS = 0x001fffe0;

/** The instruction bits each code relocation writes. */
const FIELD_BITS = new Map<number, number>([
  [R.ADR_PREL_LO21, ADR_BITS], [R.ADR_PREL_PG_HI21, ADR_BITS], [R.ADR_PREL_PG_HI21_NC, ADR_BITS],
  [R.ADR_GOT_PAGE, ADR_BITS],
  [R.ADD_ABS_LO12_NC, IMM12_BITS], [R.LDST8_ABS_LO12_NC, IMM12_BITS], [R.LDST16_ABS_LO12_NC, IMM12_BITS],
  [R.LDST32_ABS_LO12_NC, IMM12_BITS], [R.LDST64_ABS_LO12_NC, IMM12_BITS],
  [R.LDST128_ABS_LO12_NC, IMM12_BITS], [R.LD64_GOT_LO12_NC, IMM12_BITS],
  [R.CALL26, 0x03ffffff], [R.JUMP26, 0x03ffffff],
  // B.cond, CBZ/CBNZ and LDR (literal): imm19, bits 23..5; TBZ/TBNZ: imm14, bits 18..5.
  [R.CONDBR19, 0x00ffffe0], [R.LD_PREL_LO19, 0x00ffffe0], [R.TSTBR14, 0x0007ffe0],
  [R.MOVW_UABS_G0, IMM16_BITS], [R.MOVW_UABS_G0_NC, IMM16_BITS], [R.MOVW_UABS_G1, IMM16_BITS],
  [R.MOVW_UABS_G1_NC, IMM16_BITS], [R.MOVW_UABS_G2, IMM16_BITS], [R.MOVW_UABS_G2_NC, IMM16_BITS],
  [R.MOVW_UABS_G3, IMM16_BITS],
]);

/** Bytes of the two entry NOPs ftrace patches (`mov x9, x30; bl ftrace_caller` when on). */
const FTRACE_NOPS = 2;
/** -fpatchable-function-entry=4,2 (DYNAMIC_FTRACE_WITH_CALL_OPS) puts two of the four before. */
const PRE_FUNCTION_BYTES = 8;
/** The longest unnamed preamble looked for at the start of a section. */
const MAX_PADDING = 64;

/** `count` NOP words from byte offset `at`. */
function nopsAt(code: Buffer, at: number, count: number): boolean {
  for (let i = 0; i < count; i++) if (!isNop(wordAt(code, at + 4 * i))) return false;
  return true;
}

export const aarch64: Arch = {
  name: "AArch64",
  machine: EM_AARCH64,
  relocPc32: R.PREL32,
  relocAbs64: R.ABS64,
  relocName: (t) => NAMES.get(t) ?? `R_AARCH64_<${t}>`,
  relocWidth: (t) => DATA_WIDTH.get(t) ?? (FIELD_BITS.has(t) ? 4 : 0),
  relocFieldBits: (t) => FIELD_BITS.get(t) ?? 0,
  // RELA addends of A64 code are the target's own offset: `bl foo` is foo+0, `adrp x0, .LC0`
  // names .LC0 exactly (the PC the instruction adds is its own, not the next one's).
  pcTargetBiases: () => [0],

  pointerSize: 8,
  knownLayouts: (name) => AARCH64_STRUCTS.get(name) ?? [],

  // bl / b: the relocation types of branches say it all.
  isBranchAt: (_code, _offset, type) => type === R.CALL26 || type === R.JUMP26,
  // adrp x0, sym / add x0, x0, :lo12:sym: the instruction's destination register (bits 0-4) is x0.
  loadsFirstArgument: (code, offset, type) =>
    (type === R.ADR_PREL_PG_HI21 || type === R.ADD_ABS_LO12_NC) && offset + 4 <= code.length && (code.readUInt32LE(offset) & 0x1f) === 0,

  hasFtraceEntry(f) {
    // Debian's arm64 6.12 (DYNAMIC_FTRACE_WITH_CALL_OPS): `-fpatchable-function-entry=4,2`, two
    // NOPs in front of the symbol (the ops pointer's slot) and two at its entry, the record in
    // __patchable_function_entries naming the first; without CALL_OPS `=2`, the record names
    // the entry. A landing pad (`bti c`, `paciasp`) may come before the entry NOPs.
    const at = isLandingPad(wordAt(f.code, 0)) ? 4 : 0;
    if (!nopsAt(f.code, at, FTRACE_NOPS)) return false;
    return f.ftraceSites.some((s) => s === at || s === at - PRE_FUNCTION_BYTES || s === -PRE_FUNCTION_BYTES);
  },

  paddingBefore(code, start, prevEnd, first) {
    if (first && start <= MAX_PADDING && start % 4 === 0 && nopsAt(code, 0, start / 4)) return start;
    const from = start - PRE_FUNCTION_BYTES;
    return from >= prevEnd && from >= 0 && nopsAt(code, from, PRE_FUNCTION_BYTES / 4) ? PRE_FUNCTION_BYTES : 0;
  },

  differsOnlyInLineNumbers,
};
