// Does the replacement take and return what the original does, as the compiler emitted both?
// ftrace sends every call of the original to the replacement with the original's arguments in
// their registers: a replacement written `long` where 6.1's do_prlimit takes `unsigned int
// resource` reads a register half the caller never set, one with a parameter less shifts every
// later one. Both sides are read from DWARF: the original's from its defining object compiled
// in the target's tree, the replacement's from the module's own `.debug_info`. An original that
// is a compiler clone (elf_map.isra.0) has the ABI gcc chose for its callers, not the C
// declaration's: its own concrete DIE lists the parameters it is really passed.
import { archFor } from "../arch/index.js";
import * as D from "../dwarf/constants.js";
import { NO_DEBUG_INFO, readDebugInfo, unreadableDwarf, type DebugInfo, type Die } from "../dwarf/reader.js";
import type { ElfFile } from "../elf/reader.js";
import { childrenOf, dieAt, typeName, type TypeName } from "../dwarf/types.js";
import type { DefiningObject } from "./defining-object.js";
import type { Finding } from "./findings.js";
import { codeSymbol, KEEP, objectDwarf, type ObjectDwarf } from "./inlined.js";

export interface Parameter {
  readonly name: string;
  readonly type: TypeName;
}

export interface Signature {
  readonly returns: TypeName;
  readonly params: readonly Parameter[];
  /** `...`: a DW_TAG_unspecified_parameters child. */
  readonly varargs: boolean;
}

const isTopLevel = (info: DebugInfo, die: Die) => die.parent >= 0 && info.dies[die.parent]!.tag === D.DW_TAG_compile_unit;
const isDefinition = (die: Die) => die.tag === D.DW_TAG_subprogram && die.attrs.get(D.DW_AT_declaration) !== true;

/**
 * The DIE that declares `name`'s parameters: a definition at the unit's top level (an abstract
 * instance when gcc also inlined it). A mere declaration (`extern void __klp_new_0(void);` in
 * klp build's livepatch.c) describes no code and does not count.
 */
export function declaringDie(info: DebugInfo, name: string): Die | undefined {
  return info.dies.find((d) => isDefinition(d) && d.attrs.get(D.DW_AT_name) === name && isTopLevel(info, d));
}

const parameterName = (info: DebugInfo, p: Die) =>
  String(p.attrs.get(D.DW_AT_name) ?? dieAt(info, p.attrs.get(D.DW_AT_abstract_origin))?.attrs.get(D.DW_AT_name) ?? "?");

export function signatureOf(info: DebugInfo, die: Die): Signature {
  const kids = childrenOf(info, die);
  return {
    returns: typeName(info, die.attrs.get(D.DW_AT_type)),
    params: kids.filter((k) => k.tag === D.DW_TAG_formal_parameter)
      .map((p) => ({ name: parameterName(info, p), type: typeName(info, p.attrs.get(D.DW_AT_type)) })),
    varargs: kids.some((k) => k.tag === D.DW_TAG_unspecified_parameters),
  };
}

/** `size_t *lenp`, `int write`: C's spacing. */
const declarator = (p: Parameter) => `${p.type.spelled}${p.type.spelled.endsWith("*") ? "" : " "}${p.name}`;

export const signatureText = (s: Signature) =>
  `${s.returns.spelled} (${[...s.params.map(declarator), ...(s.varargs ? ["..."] : [])].join(", ") || "void"})`;

/** `long int [s64]`: the spelling a source wrote and the canonical type that compares. */
const shown = (t: TypeName) => `${t.spelled} [${t.canonical}]`;

const VARARGS = ["the replacement is variadic (...), the original is not", "the original is variadic (...), the replacement is not"];

/** How `replacement` differs from `original`, one phrase per difference; empty when they agree. */
export function signatureDifferences(original: Signature, replacement: Signature): string[] {
  const out: string[] = [];
  const [o, r] = [original.params, replacement.params];
  if (o.length !== r.length) out.push(`${r.length} parameter(s) where the original takes ${o.length}`);
  for (let i = 0; i < Math.min(o.length, r.length); i++) {
    const [mine, theirs] = [r[i]!.type, o[i]!.type];
    if (mine.canonical !== theirs.canonical) {
      out.push(`parameter ${i + 1} (${o[i]!.name}) is ${shown(mine)} where the original's is ${shown(theirs)}`);
    }
  }
  if (original.varargs !== replacement.varargs) out.push(VARARGS[original.varargs ? 1 : 0]!);
  if (original.returns.canonical !== replacement.returns.canonical) {
    out.push(`it returns ${shown(replacement.returns)} where the original returns ${shown(original.returns)}`);
  }
  return out;
}

const CLONE_KIND = /\.(isra|constprop|part)\.\d+/;
const CLONE_WHAT: Record<string, string> = {
  isra: "an IPA-SRA clone (parameters removed or passed by value instead of by pointer)",
  constprop: "a constant-propagation clone (parameters every caller passes the same constant for are gone)",
  part: "the split-off rest of a partially inlined function (it takes what its inlined head hands over)",
};

/**
 * The clone's own concrete DIE: an out-of-line instance of `declaring` whose code is `symbol`.
 * gcc describes a clone whose code is split hot/cold with DW_AT_ranges, which names no symbol;
 * then the one out-of-line instance is the clone's when the object has no other copy of the code.
 */
function cloneDie(d: ObjectDwarf, declaring: Die, symbol: string, base: string): Die | undefined {
  const instanceOf = (x: Die) => x.tag === D.DW_TAG_subprogram && x.attrs.get(D.DW_AT_abstract_origin) === declaring.offset;
  const instances = d.info.dies.filter((x) => instanceOf(x) && isTopLevel(d.info, x));
  const named = instances.find((x) => codeSymbol(d, x) === symbol);
  if (named) return named;
  const isCopy = (name: string) => (name === base || name.startsWith(`${base}.`)) && !/\.cold(\.\d+)?$/.test(name);
  const copies = d.object.functions.filter((f) => isCopy(f.name));
  return instances.length === 1 && copies.length === 1 && copies[0]!.name === symbol ? instances[0] : undefined;
}

/**
 * The parameters a clone is really passed: the formal parameters its concrete DIE lists first,
 * each with a location. gcc lists the ones IPA-SRA replaced after the clone's locals
 * (elf_map.isra.0 of 6.1's fs/compat_binfmt_elf.o lists `eppnt` after `map_addr`, `size`, `off`)
 * and gives a constant-propagated one no location or a DW_AT_const_value.
 */
function passedParameters(info: DebugInfo, clone: Die): string[] {
  const passed: string[] = [];
  for (const k of childrenOf(info, clone)) {
    if (k.tag !== D.DW_TAG_formal_parameter || !k.at.has(D.DW_AT_location)) break;
    passed.push(parameterName(info, k));
  }
  return passed;
}

const hasNocall = (d: Die | undefined) => d?.attrs.get(D.DW_AT_calling_convention) === D.DW_CC_nocall;

/** Why the original as emitted is not its C declaration (a clone, a nocall function); or undefined. */
function emittedDifference(d: ObjectDwarf, declaring: Die, oldName: string, base: string,
  declared: Signature): string | undefined {
  const kind = CLONE_KIND.exec(oldName)?.[1];
  if (!kind) {
    return hasNocall(declaring) ? `gcc marked ${oldName} DW_CC_nocall: its calling convention is not the C declaration's` : undefined;
  }
  const clone = cloneDie(d, declaring, oldName, base);
  const what = `${oldName} is ${CLONE_WHAT[kind]} of ${base} ${signatureText(declared)}`;
  if (!clone) return `${what}; its own concrete DIE could not be told apart, so its real parameters are unknown`;
  const passed = passedParameters(d.info, clone);
  const dropped = declared.params.map((p) => p.name).filter((n) => !passed.includes(n));
  const order = passed.join(", ") === declared.params.slice(0, passed.length).map((p) => p.name).join(", ");
  // IPA-SRA may also pass a pointed-to field by value, which DWARF does not list as a parameter.
  if (!dropped.length && order && !hasNocall(clone)) {
    return kind === "isra" ? `${what}; its parameters keep their names, but IPA-SRA changed how they are passed` : undefined;
  }
  return `${what}; as emitted it is passed (${passed.join(", ")})${dropped.length ? `, not ${dropped.join(", ")}` : ""}`;
}

export interface ReplacementDwarf {
  readonly info?: DebugInfo;
  /** Why the module's DWARF cannot be read, when it cannot. */
  readonly why?: string;
}

/** The module's DWARF, or why there is none (a module built without CONFIG_DEBUG_INFO, or stripped). */
export function replacementDwarf(elf: ElfFile): ReplacementDwarf {
  const arch = archFor(elf.machine);
  if (!arch) return { why: `unsupported machine ${elf.machine}` };
  const why = unreadableDwarf(elf);
  return why ? { why } : { info: readDebugInfo(elf, arch, KEEP) };
}

/** The signature findings of one replaced function whose defining object was found. */
export function signatureFindings(object: string, oldName: string, newFunc: string, def: DefiningObject,
  module: ReplacementDwarf): Finding[] {
  const base = { object, symbol: oldName, kind: "signature" as const };
  const unverified = (why: string): Finding[] => [{
    ...base, kind: "unverified", reason: `${why}: the replacement's signature was not compared with ${oldName}'s`,
    hint: "build the livepatch with debug info (CONFIG_DEBUG_INFO, as kbuild does for the target's tree), or compare the prototypes by hand",
  }];
  const d = objectDwarf(def.compiled);
  const baseName = oldName.replace(/\..*$/, "");
  const declaring = declaringDie(d.info, baseName);
  if (!declaring) return unverified(`${def.object}'s DWARF has no definition of ${baseName}`);
  const original = signatureOf(d.info, declaring);
  const emitted = emittedDifference(d, declaring, oldName, baseName, original);
  if (emitted) {
    return [{
      ...base, reason: `${emitted}: a replacement written from the C declaration receives other arguments than its callers pass`,
      hint: `replace the callers of ${oldName} instead (or ${baseName} itself, when they call it), with their declared prototypes`,
    }];
  }
  // Code without DWARF (a module built without CONFIG_DEBUG_INFO or stripped; klp build's carried
  // functions, __klp_new_N, which it ships without theirs): the signature cannot be read, and the
  // report says so (signatureNotCompared) instead of calling every such module unsafe. DWARF that
  // is there but cannot be read is unverified.
  if (!module.info && module.why === NO_DEBUG_INFO) return [];
  if (!module.info) return unverified(`the module has no usable DWARF (${module.why ?? "no .debug_info"})`);
  const mine = declaringDie(module.info, newFunc);
  if (!mine) return [];
  const replacement = signatureOf(module.info, mine);
  const diffs = signatureDifferences(original, replacement);
  if (!diffs.length) return [];
  const wrong = `${newFunc} ${signatureText(replacement)} does not match ${oldName} ${signatureText(original)}`;
  return [{ ...base, reason: `${wrong} (${def.object}): ${diffs.join("; ")}`, hint: `declare ${newFunc} exactly as ${oldName}: ${signatureText(original)}` }];
}

/** Why the replacement's signature could not be compared, when its code has no DWARF. */
export function signatureNotCompared(newFunc: string, module: ReplacementDwarf): string | undefined {
  if (!module.info) return module.why === NO_DEBUG_INFO ? "the module carries no DWARF (built without debug info, or stripped)" : undefined;
  return declaringDie(module.info, newFunc) ? undefined : `the module's DWARF does not describe ${newFunc} (klp build ships its carried code without DWARF)`;
}
