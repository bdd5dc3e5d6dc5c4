// x86-64: relocation types (psABI), the ftrace entry conventions, the shapes of special-section
// structs over time (x86_64-structs.ts) and the __LINE__ check (x86_64-lines.ts).
import { EM_X86_64 } from "../elf/constants.js";
import type { Arch } from "./types.js";
import { differsOnlyInLineNumbers } from "./x86_64-lines.js";
import { X86_64_STRUCTS } from "./x86_64-structs.js";

const R = {
  NONE: 0, R64: 1, PC32: 2, GOT32: 3, PLT32: 4, R32: 10, R32S: 11, R16: 12, PC16: 13, R8: 14, PC8: 15,
  PC64: 24, GOTPCREL: 9, GOTPCRELX: 41, REX_GOTPCRELX: 42,
} as const;

const NAMES = new Map<number, string>(Object.entries(R).map(([k, v]) => [v, `R_X86_64_${k.replace(/^R(?=\d)/, "")}`]));

const WIDTH = new Map<number, number>([
  [R.R64, 8], [R.PC64, 8], [R.PC32, 4], [R.PLT32, 4], [R.R32, 4], [R.R32S, 4], [R.GOT32, 4],
  [R.GOTPCREL, 4], [R.GOTPCRELX, 4], [R.REX_GOTPCRELX, 4], [R.R16, 2], [R.PC16, 2], [R.R8, 1], [R.PC8, 1],
]);

// A PC-relative field is usually the last thing in its instruction (addend -4); an immediate
// after it moves the target further: `cmpb $0x0, flag(%rip)` has addend -5.
const PC_BIASES = [4, 5, 6, 8];
const PC_RELATIVE = new Set<number>([R.PC32, R.PLT32, R.PC64, R.PC16, R.PC8, R.GOTPCREL, R.GOTPCRELX, R.REX_GOTPCRELX]);

const CALL_REL32 = 0xe8;
const JMP_REL32 = 0xe9;
const MOV_IMM_RDI = [0x48, 0xc7, 0xc7];
const LEA_RIP_RDI = [0x48, 0x8d, 0x3d];
const MOV_IMM_EDI = 0xbf;
const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];
/** The 5-byte NOP ftrace sites hold when not calling: `nopl 0x0(%rax,%rax,1)` and kin. */
const FTRACE_SITE = 5;
/** The longest unnamed preamble looked for (CALL_PADDING is 16 bytes). */
const MAX_PADDING = 64;

function startsWith(code: Buffer, bytes: readonly number[], at: number): boolean {
  return bytes.every((b, i) => code[at + i] === b);
}

/**
 * Length of the NOP instruction at `at`, 0 if it is none: `90`, `66 90`, and the `0f 1f /0`
 * family with any prefixes of 66/2e and any ModRM form (gcc writes `0f 1f 44 00 00`, clang's
 * patchable entry `0f 1f 44 00 08`).
 */
function nopLength(code: Buffer, at: number): number {
  let i = at;
  while (code[i] === 0x66 || code[i] === 0x2e) i++;
  if (code[i] === 0x90) return i - at + 1;
  if (code[i] !== 0x0f || code[i + 1] !== 0x1f || code[i + 2] === undefined) return 0;
  const modrm = code[i + 2]!, mod = modrm >> 6, rm = modrm & 7;
  if (mod === 3 || ((modrm >> 3) & 7) !== 0) return 0;
  const sib = rm === 4 ? code[i + 3] : undefined;
  const disp = mod === 1 ? 1 : mod === 2 ? 4 : rm === 5 || (sib !== undefined && (sib & 7) === 5) ? 4 : 0;
  const length = i - at + 3 + (rm === 4 ? 1 : 0) + disp;
  return at + length <= code.length ? length : 0;
}

/** Bytes of back-to-back NOP instructions from `at`. */
function nopBytes(code: Buffer, at: number): number {
  let n = at;
  for (let len = nopLength(code, n); len > 0; len = nopLength(code, n)) n += len;
  return n - at;
}

export const x86_64: Arch = {
  name: "x86-64",
  machine: EM_X86_64,
  relocPc32: R.PC32,
  relocAbs64: R.R64,
  relocName: (t) => NAMES.get(t) ?? `R_X86_64_<${t}>`,
  relocWidth: (t) => WIDTH.get(t) ?? 0,
  // x86 immediates and displacements are whole bytes at the end of an instruction.
  relocFieldBits: () => 0,
  pcTargetBiases: (t) => (PC_RELATIVE.has(t) ? PC_BIASES : [0]),

  pointerSize: 8,
  knownLayouts: (name) => X86_64_STRUCTS.get(name) ?? [],

  hasFtraceEntry(f) {
    // The site is the first instruction, or the second behind an IBT `endbr64`.
    const at = startsWith(f.code, ENDBR64, 0) ? ENDBR64.length : 0;
    const fentry = f.calleeAt(at + 1) === "__fentry__";
    // gcc/clang -mfentry: `call __fentry__` (e8 rel32).
    if (f.code[at] === CALL_REL32 && fentry) return true;
    // objtool --mcount (6.1; --mnop since 6.2): the call rewritten to a 5-byte NOP whose
    // relocation became R_X86_64_NONE, still naming __fentry__.
    if (nopLength(f.code, at) === FTRACE_SITE && fentry) return true;
    // gcc -mnop-mcount -mrecord-mcount (no relocation), or -fpatchable-function-entry=N,0
    // (gcc: N one-byte NOPs; clang: one N-byte NOP): NOPs an ftrace table records as the site.
    return f.ftraceSites.includes(at) && nopBytes(f.code, at) >= FTRACE_SITE;
  },

  // mov $sym, %rdi (48 c7 c7, -mcmodel=kernel's sign-extended 32-bit address), lea sym(%rip),
  // %rdi (48 8d 3d), or mov $sym, %edi (bf).
  loadsFirstArgument: (code, offset, type) =>
    ((type === R.R32S || type === R.R32) && (startsWith(code, MOV_IMM_RDI, offset - 3) || code[offset - 1] === MOV_IMM_EDI))
    || ((type === R.PC32 || type === R.PLT32) && startsWith(code, LEA_RIP_RDI, offset - 3)),
  // e8/e9 rel32: a call, or a jmp (tail call); 0f 8x rel32: a conditional tail call (clang).
  isBranchAt: (code, offset, type) => (type === R.PLT32 || type === R.PC32) && offset >= 2
    && (code[offset - 1] === CALL_REL32 || code[offset - 1] === JMP_REL32 || (code[offset - 2] === 0x0f && (code[offset - 1]! & 0xf0) === 0x80)),

  // gcc's -fpatchable-function-entry=16,16 pads with one-byte NOPs; between two functions of one
  // section, NOPs are alignment, not a preamble.
  paddingBefore: (code, start, _prevEnd, first) =>
    first && start <= MAX_PADDING && code.subarray(0, start).every((b) => b === 0x90) ? start : 0,

  differsOnlyInLineNumbers,
};
