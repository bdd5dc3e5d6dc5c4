// Where the compiler inlined a function, from the DWARF of the object that defines it. A
// livepatch redirects calls to the out-of-line copy only: a caller into which gcc inlined the
// function keeps running the old code (6.1's fs/proc/cmdline.o keeps cmdline_proc_show out of
// line, but a static helper called once is usually folded into its caller). Without LTO a
// function can be inlined only inside its own translation unit, so its own object's
// `DW_TAG_inlined_subroutine` DIEs, whose `DW_AT_abstract_origin` is the function's own
// subprogram DIE, name every caller that keeps the old code.
import * as D from "../dwarf/constants.js";
import { readDebugInfo, type DebugInfo, type Die } from "../dwarf/reader.js";
import { dieAt, TYPE_ATTRS } from "../dwarf/types.js";
import type { KObject } from "../object/kobject.js";

/** What inlining and the signature check (signature.ts) read, so one pass serves both. */
export const KEEP = new Set([D.DW_AT_name, D.DW_AT_abstract_origin, D.DW_AT_specification, D.DW_AT_declaration, D.DW_AT_low_pc,
  ...TYPE_ATTRS, D.DW_AT_location, D.DW_AT_const_value, D.DW_AT_calling_convention]);

/** An object's DWARF as `klp check` needs it, and the object to name code addresses with. */
export interface ObjectDwarf {
  readonly info: DebugInfo;
  readonly object: KObject;
}

const READ = new WeakMap<KObject, ObjectDwarf>();

/** The object's DWARF, read once however many replaced functions it defines. */
export function objectDwarf(o: KObject): ObjectDwarf {
  let d = READ.get(o);
  if (!d) READ.set(o, d = { info: readDebugInfo(o.elf, o.arch, KEEP), object: o });
  return d;
}

/**
 * The symbol of the code a concrete subprogram DIE describes, from the relocation of its
 * DW_AT_low_pc: the DWARF name of a clone is its origin's (`elf_map`), the symbol is the clone
 * (`elf_map.isra.0`), and the symbol is what kallsyms and a livepatch's old_name say.
 */
export function codeSymbol(d: ObjectDwarf, die: Die): string | undefined {
  const at = die.at.get(D.DW_AT_low_pc);
  const info = d.object.elf.sections.find((s) => s.name === ".debug_info");
  if (at === undefined || !info) return undefined;
  const t = d.object.elf.relocTable(info.index);
  const i = t.lowerBound(at);
  if (i >= t.length || t.offsets[i] !== at) return undefined;
  const ref = d.object.referentOf(t.syms[i]!, t.types[i]!, t.addends[i]!, info);
  return ref.kind === "sym" && ref.offset === 0 ? ref.sym.name : undefined;
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
function enclosing(d: ObjectDwarf, i: number): { caller: string; via: string[] } {
  const via: string[] = [];
  const { dies } = d.info;
  for (let p = dies[i]!.parent; p >= 0; p = dies[p]!.parent) {
    const die = dies[p]!;
    if (die.tag === D.DW_TAG_inlined_subroutine) via.push(nameOf(d.info, die) ?? "?");
    if (die.tag === D.DW_TAG_subprogram) {
      return { caller: codeSymbol(d, die) ?? nameOf(d.info, die) ?? `DIE 0x${die.offset.toString(16)}`, via };
    }
  }
  return { caller: "?", via };
}

export interface InlinedCall {
  /** The out-of-line function that keeps the old code (e.g. the caller `proc_pid_cmdline_read`). */
  readonly caller: string;
  /** Functions inlined in between, from the caller inwards. */
  readonly via: readonly string[];
  /**
   * The caller's code is no stale path: the same livepatch replaces it too, or the module's
   * builder proved it unchanged by the fix (klp build's diff carries every caller that changed).
   */
  readonly covered: boolean;
}

/** Every place in the object where `name` was inlined, one entry per distinct caller chain. */
export function inlinedCalls(d: ObjectDwarf, name: string, covered: ReadonlySet<string>): InlinedCall[] {
  const targets = subprogramsNamed(d.info, name);
  const seen = new Map<string, InlinedCall>();
  d.info.dies.forEach((die, i) => {
    if (die.tag !== D.DW_TAG_inlined_subroutine) return;
    const origin = die.attrs.get(D.DW_AT_abstract_origin);
    if (typeof origin !== "number" || !targets.has(origin)) return;
    const e = enclosing(d, i);
    // Recursion inlined into the function's own body goes with that body when it is replaced.
    if (e.caller === name && !e.via.length) return;
    const via = [...e.via].reverse();
    const key = [e.caller, ...via].join(" → ");
    if (!seen.has(key)) seen.set(key, { caller: e.caller, via, covered: covered.has(e.caller) });
  });
  return [...seen.values()];
}
