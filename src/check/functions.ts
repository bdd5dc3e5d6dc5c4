// The checks of one replaced function (klp_func) against the target: that `old_name` and
// `old_sympos` pick exactly one function of the object, that the compiler made no clone
// callers may call instead, that ftrace can hook it, and that no caller inlined it.
import { isNoinstrSection } from "../select/refusals.js";
import type { KernelSymbol, SymbolTable } from "../target/symbols.js";
import type { DefiningObject, Located } from "./defining-object.js";
import type { Finding } from "./findings.js";
import { inlinedCalls, objectDwarf, type InlinedCall } from "./inlined.js";
import type { KlpFuncRead } from "./structs.js";

export interface FunctionReport {
  readonly object: string;
  readonly oldName: string;
  readonly oldSympos: number;
  readonly newFunc: string;
  /** Address of the function old_sympos picks (kallsyms order), when it picks one. */
  readonly address?: string;
  /** The kernel object that defines it, compiled in the target's tree. */
  readonly definedIn?: string;
  readonly traceable?: boolean;
  readonly inlinedInto: readonly InlinedCall[];
  readonly clones: readonly string[];
  /** `name.cold` parts: reached only from the function's own body, replaced with it. */
  readonly coldParts: readonly string[];
  /** Why the replacement's signature was not compared, when the module carries no DWARF. */
  readonly signatureNotCompared?: string;
}

/**
 * A compiler clone's suffix: IPA-SRA (`.isra.N`, parameters removed or changed),
 * constant propagation (`.constprop.N`), partial inlining (`.part.N`, the rest of a function
 * whose head was inlined into callers). `do_sys_poll` can leave `do_sys_poll.constprop.0`.
 */
const CLONE = /^\.(isra|constprop|part)\.\d+/;
const COLD = /^(\.(isra|constprop|part)\.\d+)*\.cold(\.\d+)?$/;

export const isText = (s: KernelSymbol) => /^[tTwW]$/.test(s.type);

/** Names in `names` that are clones of `name` (`name.isra.0`, `name.constprop.0.isra.0` …). */
export function clonesOf(name: string, names: Iterable<string>): { clones: string[]; cold: string[] } {
  const clones = new Set<string>(), cold = new Set<string>();
  for (const n of names) {
    if (!n.startsWith(`${name}.`)) continue;
    const suffix = n.slice(name.length);
    if (COLD.test(suffix)) cold.add(n);
    else if (CLONE.test(suffix)) clones.add(n);
  }
  return { clones: [...clones].sort(), cold: [...cold].sort() };
}

/** A name that is itself a clone: patching `foo.isra.0` means matching an ABI gcc invented. */
export function isCloneName(name: string): boolean {
  return /\.(isra|constprop|part)\.\d+/.test(name) || /\.cold(\.\d+)?$/.test(name);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The function `old_sympos` picks among `list` (kallsyms order), or a finding. */
export function pickSymbol(f: KlpFuncRead, object: string, list: readonly KernelSymbol[]): KernelSymbol | Finding {
  const base = { object, symbol: f.oldName };
  if (!list.length) {
    return { ...base, kind: "missing", reason: `${object} of the target has no function ${f.oldName}: the livepatch fails to enable (or the name was inlined into every caller, or renamed)`,
      hint: "patch the function under the name the target's kallsyms shows, or patch its callers" };
  }
  if (f.oldSympos === 0 && list.length > 1) {
    return { ...base, kind: "ambiguous", reason: `${list.length} functions named ${f.oldName} in ${object} (positions ${list.map((s, i) => `${i + 1} at ${hex(s.address)}`).join(", ")}) and old_sympos is 0: klp_enable_patch fails`,
      hint: `set .old_sympos to the position of the one meant (1..${list.length}, kallsyms order)` };
  }
  if (f.oldSympos > list.length) {
    return { ...base, kind: "ambiguous", reason: `old_sympos ${f.oldSympos}, but ${object} has only ${list.length} function(s) named ${f.oldName}`,
      hint: `use 0 for a unique name, else a position 1..${list.length}` };
  }
  const picked = list[f.oldSympos === 0 ? 0 : f.oldSympos - 1]!;
  if (!isText(picked)) {
    return { ...base, kind: "missing", reason: `old_sympos ${f.oldSympos} picks a ${f.oldName} that is not a function (kallsyms type ${picked.type} at ${hex(picked.address)})`,
      hint: "count positions among every same-named symbol in kallsyms order, as klp_find_object_symbol does" };
  }
  return picked;
}

/**
 * Clone findings from the names of the defining object (exact) or else of the whole object's
 * table. A clone the same livepatch replaces too, or that the builder proved unchanged, is
 * covered; a replaced clone's ABI is proven when the builder proved every other function of its
 * object unchanged (its callers were compiled against the same clone).
 */
export function cloneFindings(f: KlpFuncRead, object: string, names: Iterable<string>, covered: ReadonlySet<string>,
  abiProven: boolean): { findings: Finding[]; clones: string[]; cold: string[] } {
  const { clones, cold } = clonesOf(f.oldName, names);
  const open = clones.filter((c) => !covered.has(c));
  const findings: Finding[] = [];
  if (open.length) {
    findings.push({ kind: "clone", object, symbol: f.oldName,
      reason: `the compiler cloned ${f.oldName} as ${open.join(", ")}: callers that call a clone never reach the replacement of ${f.oldName}`,
      hint: `patch the callers of ${open.join(", ")} too (or the clone itself, with a replacement of the clone's own ABI)` });
  }
  if (isCloneName(f.oldName) && !abiProven) {
    findings.push({ kind: "clone", object, symbol: f.oldName,
      reason: `${f.oldName} is a compiler clone: its parameters and return are what gcc chose (IPA-SRA may drop or change them), not the C declaration's`,
      hint: "patch the original function's callers, or check the clone's ABI in the target's DWARF before writing its replacement" });
  }
  return { findings, clones, cold };
}

/** ftrace and inlining, read from the compiled defining object. */
export function objectFindings(f: KlpFuncRead, object: string, at: Located, covered: ReadonlySet<string>): { findings: Finding[]; def?: DefiningObject; traceable?: boolean; inlined: InlinedCall[] } {
  const base = { object, symbol: f.oldName };
  if (!("found" in at)) {
    return { inlined: [], findings: [{ ...base, kind: "unverified", reason: `cannot tell which kernel object defines ${f.oldName}: ${at.why}; ftrace and inlining were not checked`,
      hint: "check the function's __fentry__ call and its callers by hand, or patch a function klp check can locate" }] };
  }
  const def = at.found;
  const fn = def.compiled.functions.find((x) => x.name === f.oldName)!;
  const findings: Finding[] = [];
  const noinstr = isNoinstrSection(fn.section.name);
  const traceable = !noinstr && def.compiled.arch.hasFtraceEntry(def.compiled.codeView(fn));
  if (!traceable) {
    findings.push({ ...base, kind: "notrace", reason: noinstr
      ? `${f.oldName} is noinstr (section ${fn.section.name} of ${def.object}): ftrace may not hook it, so the livepatch cannot redirect it`
      : `${f.oldName} has no ftrace site in ${def.object} (no __fentry__ call at its entry: notrace): the livepatch cannot redirect it`,
      hint: `patch its callers instead (they are traceable functions that call ${f.oldName})` });
  }
  const inlined = inlinedCalls(objectDwarf(def.compiled), f.oldName, covered);
  const open = inlined.filter((c) => !c.covered);
  if (open.length) {
    const callers = open.map((c) => [c.caller, ...c.via].join(" → "));
    findings.push({ ...base, kind: "inlined", reason: `gcc inlined ${f.oldName} into ${callers.join(", ")} (${def.object}): those callers keep the old code after the livepatch`,
      hint: `patch ${[...new Set(open.map((c) => c.caller))].join(", ")} too, with the fixed ${f.oldName} inlined in them` });
  }
  return { findings, def, traceable, inlined };
}

/**
 * Every symbol of `table` named `name`, in kallsyms order: klp_find_object_symbol counts
 * positions among all of them, functions or not.
 */
export function symbolsNamed(table: SymbolTable, name: string): readonly KernelSymbol[] {
  return table.byName.get(name) ?? [];
}
