// Whether two AArch64 builds of a function differ only in `__LINE__` values passed to a function
// known to take one: `might_sleep()` in fs/ext4 compiles to `mov w1, #0x1a3` (MOVZ, imm16 in
// bits 20..5) right before `bl __might_sleep`; a line shift above it changes imm16 and nothing
// else. Every differing word must be such a MOVZ into the register of the callee's line
// argument (w0..w7 are arguments 1..8), consumed by the next call.
import { destReg, isBranch, isBranchLink, isMovz, MOVZ_IMM16 } from "./aarch64-insn.js";
import { LINE_ARGUMENT } from "./line-callees.js";
import type { CodeView } from "./types.js";

/** How far past the `mov` the call that consumes it may be (instructions). */
const CALL_WINDOW = 12;

/** Word offsets at which `a` and `b` (equally long) differ. */
function differingWords(a: Buffer, b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 4 <= a.length; at += 4) if (a.readUInt32LE(at) !== b.readUInt32LE(at)) out.push(at);
  return out;
}

/** Both words are MOVZ into the same register, differing only in imm16. */
function isLineImmediatePair(x: number, y: number): boolean {
  return isMovz(x) && isMovz(y) && ((x ^ y) & ~MOVZ_IMM16) === 0;
}

/** The first call (`bl`, or `b` as a tail call) after `at` takes a line number as argument `arg`. */
function feedsCall(a: CodeView, b: CodeView, at: number, arg: number): boolean {
  for (let k = at + 4, n = 0; k + 4 <= a.code.length && n < CALL_WINDOW; k += 4, n++) {
    const w = a.code.readUInt32LE(k);
    if (!isBranchLink(w) && !isBranch(w)) continue;
    const ca = a.calleeAt(k), cb = b.calleeAt(k);
    // A local `b .L` has no relocation: not the call, keep looking.
    if (ca === undefined && isBranch(w)) continue;
    return ca !== undefined && ca === cb && LINE_ARGUMENT.get(ca) === arg;
  }
  return false;
}

export function differsOnlyInLineNumbers(a: CodeView, b: CodeView): boolean {
  if (a.code.length !== b.code.length || a.code.length % 4 !== 0) return false;
  if (!a.refersToAny(LINE_ARGUMENT)) return false;
  const words = differingWords(a.code, b.code);
  if (!words.length) return false;
  return words.every((at) => {
    const x = a.code.readUInt32LE(at), y = b.code.readUInt32LE(at);
    return isLineImmediatePair(x, y) && destReg(x) < 8 && feedsCall(a, b, at, destReg(x) + 1);
  });
}
