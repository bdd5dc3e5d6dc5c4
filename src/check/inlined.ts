// Where the compiler inlined a function, from the DWARF of the object that defines it. A
// livepatch redirects calls to the out-of-line copy only: a caller into which gcc inlined the
// function keeps running the old code (6.1's fs/proc/cmdline.o keeps cmdline_proc_show out of
// line, but a static helper called once is usually folded into its caller). Without LTO a
// function can be inlined only inside its own translation unit, so its own object's
// `DW_TAG_inlined_subroutine` DIEs, whose `DW_AT_abstract_origin` is the function's own
// subprogram DIE, name every caller that keeps the old code.
import type { Arch } from "../arch/index.js";
import * as D from "../dwarf/constants.js";
import { readDebugInfo, type DebugInfo, type Die } from "../dwarf/reader.js";
import type { ElfFile } from "../elf/reader.js";

const KEEP = new Set([D.DW_AT_name, D.DW_AT_abstract_origin, D.DW_AT_specification, D.DW_AT_declaration]);

/** A function's DWARF as `klp check` needs it: read once per object. */
export function functionDwarf(elf: ElfFile, arch: Arch): DebugInfo {
  return readDebugInfo(elf, arch, KEEP);
}

function dieAt(d: DebugInfo, offset: unknown): Die | undefined {
  const i = typeof offset === "number" ? d.byOffset.get(offset) : undefined;
  return i === undefined ? undefined : d.dies[i];
}

/** A subprogram's name, following abstract_origin/specification to the DIE that holds it. */
function nameOf(d: DebugInfo, die: Die): string | undefined {
  for (let x: Die | undefined = die, hops = 0; x && hops < 8; hops++) {
    const n = x.attrs.get(D.DW_AT_name);
    if (typeof n === "string") return n;
    x = dieAt(d, x.attrs.get(D.DW_AT_abstract_origin) ?? x.attrs.get(D.DW_AT_specification));
  }
  return undefined;
}

/** The subprogram DIEs that stand for `name` (its abstract instance, declaration or definition). */
function subprogramsNamed(d: DebugInfo, name: string): Set<number> {
  const out = new Set<number>();
  for (const die of d.dies) {
    if (die.tag === D.DW_TAG_subprogram && die.attrs.get(D.DW_AT_name) === name) out.add(die.offset);
  }
  // A concrete out-of-line instance points at them; an inlined copy may point at it too.
  for (const die of d.dies) {
    if (die.tag !== D.DW_TAG_subprogram) continue;
    const origin = die.attrs.get(D.DW_AT_abstract_origin) ?? die.attrs.get(D.DW_AT_specification);
    if (typeof origin === "number" && out.has(origin)) out.add(die.offset);
  }
  return out;
}

/** The out-of-line function whose code holds DIE `i`, and the inlined functions in between. */
function enclosing(d: DebugInfo, i: number): { caller: string; via: string[] } {
  const via: string[] = [];
  for (let p = d.dies[i]!.parent; p >= 0; p = d.dies[p]!.parent) {
    const die = d.dies[p]!;
    if (die.tag === D.DW_TAG_inlined_subroutine) via.push(nameOf(d, die) ?? "?");
    if (die.tag === D.DW_TAG_subprogram) return { caller: nameOf(d, die) ?? `DIE 0x${die.offset.toString(16)}`, via };
  }
  return { caller: "?", via };
}

export interface InlinedCall {
  /** The out-of-line function that keeps the old code (e.g. the caller `proc_pid_cmdline_read`). */
  readonly caller: string;
  /** Functions inlined in between, from the caller inwards. */
  readonly via: readonly string[];
}

/** Every place in the object where `name` was inlined, one entry per distinct caller chain. */
export function inlinedCalls(d: DebugInfo, name: string): InlinedCall[] {
  const targets = subprogramsNamed(d, name);
  const seen = new Map<string, InlinedCall>();
  d.dies.forEach((die, i) => {
    if (die.tag !== D.DW_TAG_inlined_subroutine) return;
    const origin = die.attrs.get(D.DW_AT_abstract_origin);
    if (typeof origin !== "number" || !targets.has(origin)) return;
    const e = enclosing(d, i);
    // Recursion inlined into the function's own body goes with that body when it is replaced.
    if (e.caller === name && !e.via.length) return;
    const via = [...e.via].reverse();
    const key = [e.caller, ...via].join(" → ");
    if (!seen.has(key)) seen.set(key, { caller: e.caller, via });
  });
  return [...seen.values()];
}
