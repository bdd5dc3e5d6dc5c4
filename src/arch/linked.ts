// How a relocation field reads back once the linker filled it in: the address it resolves to.
// The byte proof uses this to check that a call in the build and the same call in the running
// kernel's image go to the same symbol. Addresses are the low 48 bits (x86-64 kernel addresses
// are sign-extended 48-bit ones, and kallsyms is parsed the same way).
import { EM_X86_64 } from "../elf/constants.js";

const MASK48 = 2 ** 48;
const wrap48 = (n: number) => ((n % MASK48) + MASK48) % MASK48;

/** x86-64 psABI: the types a kernel object uses and what their linked value means. */
const X86: ReadonlyMap<number, { width: number; pc: boolean; signed: boolean }> = new Map([
  [1, { width: 8, pc: false, signed: false }],  // R_X86_64_64: S + A
  [2, { width: 4, pc: true, signed: true }],    // R_X86_64_PC32: S + A - P
  [4, { width: 4, pc: true, signed: true }],    // R_X86_64_PLT32: S + A - P (no PLT in the kernel)
  [10, { width: 4, pc: false, signed: false }], // R_X86_64_32: S + A
  [11, { width: 4, pc: false, signed: true }],  // R_X86_64_32S: S + A, sign-extended (-mcmodel=kernel)
  [24, { width: 8, pc: true, signed: true }],   // R_X86_64_PC64
]);

/**
 * The address (S + A) a linked field at `place` holds, or undefined for a relocation type this
 * reading does not know (the field is then only masked).
 */
export function linkedValue(machine: number, type: number, field: Buffer, place: number): number | undefined {
  if (machine !== EM_X86_64) return undefined;
  const t = X86.get(type);
  if (!t || field.length < t.width) return undefined;
  const raw = t.width === 8 ? Number(field.readBigInt64LE(0) % BigInt(MASK48)) : t.signed ? field.readInt32LE(0) : field.readUInt32LE(0);
  return wrap48(t.pc ? place + raw : raw);
}

/** x86-64 IBT: objtool seals an unused `endbr64` at link time by overwriting it with a NOP. */
const ENDBR64 = Buffer.from([0xf3, 0x0f, 0x1e, 0xfa]);

/** True when `built` starts with endbr64 and `running` has a 4-byte NOP (0f 1f …) there instead. */
export function isSealedEndbr(machine: number, built: Buffer, running: Buffer): boolean {
  return machine === EM_X86_64 && built.subarray(0, 4).equals(ENDBR64) && running[0] === 0x0f && running[1] === 0x1f;
}

const NOP5 = Buffer.from([0x0f, 0x1f, 0x44, 0x00, 0x00]);
const NOP2 = Buffer.from([0x66, 0x90]);

/** A jump label site's two forms: `jmp rel32` or NOP5, `jmp rel8` or NOP2. */
function jumpSiteForm(b: Buffer, at: number): number {
  if (b[at] === 0xe9 || b.subarray(at, at + 5).equals(NOP5)) return 5;
  if (b[at] === 0xeb || b.subarray(at, at + 2).equals(NOP2)) return 2;
  return 0;
}

/**
 * The NOP a jump label site at `at` of `code` holds while its branch is off (NOP5 for `jmp rel32`,
 * NOP2 for `jmp rel8`, the same NOP for a site already NOPped); undefined for bytes that are not
 * such a site, or another architecture.
 */
export function jumpSiteOff(machine: number, code: Buffer, at: number): Buffer | undefined {
  if (machine !== EM_X86_64) return undefined;
  const n = jumpSiteForm(code, at);
  return n === 5 ? NOP5 : n === 2 ? NOP2 : undefined;
}

/**
 * The length of a jump label site at `at` when build and running kernel hold either form of it:
 * objtool (--hacks=jump_label, at vmlinux link time on 6.12's IBT kernels) turns the compiler's
 * `jmp` into the NOP of its length for keys that start disabled, so the bytes differ and the
 * site is the same. 0 when they are not two forms of one site.
 */
export function jumpSiteLength(machine: number, built: Buffer, running: Buffer, at: number): number {
  if (machine !== EM_X86_64) return 0;
  const a = jumpSiteForm(built, at), b = jumpSiteForm(running, at);
  return a !== 0 && a === b ? a : 0;
}

/**
 * True when the build calls `__fentry__` at `at` (e8 + rel32) and the running kernel holds a NOP5
 * there: with Clang (no -mnop-mcount) objtool --mcount --mnop turns the call into a NOP when it
 * links vmlinux (IBT kernels run objtool on vmlinux.o) or the module; ftrace patches it at run time.
 */
export function isNoppedFentry(machine: number, built: Buffer, running: Buffer, at: number): boolean {
  return machine === EM_X86_64 && built[at] === 0xe8 && running.subarray(at, at + 5).equals(NOP5);
}

export { wrap48 };
