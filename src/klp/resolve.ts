// Decides, for each symbol the carried code refers to, how the livepatch module reaches it:
// an ordinary relocation (exported, so the module loader resolves it and modversions checks
// it) or a klp relocation against `.klp.sym.<object>.<name>,<sympos>`.
import { refuse, type KlpError } from "../errors.js";
import { nearestCopy, type KernelSymbol, type KernelView, type SymbolTable } from "../target/symbols.js";

export interface ExternRef {
  readonly name: string;
  /** The original object defines it (so it lives in the patched object itself). */
  readonly definedInObject: boolean;
  /** It is a local (static) symbol there: never resolved through an export of the same name. */
  readonly local: boolean;
  /** Function or data, for picking among same-named symbols. */
  readonly isFunction: boolean;
}

export type Resolution =
  | { readonly kind: "export"; readonly module: string }
  | {
    readonly kind: "klp"; readonly object: string; readonly name: string; readonly sympos: number;
    /** The symbol it resolves to in the target (its address is what the byte proof reads). */
    readonly symbol: KernelSymbol;
    /** True when the choice among same-named symbols depended on where this one lies. */
    readonly positional: boolean;
  };

export interface TargetObject {
  /** "vmlinux" or a module name (KBUILD_MODNAME). */
  readonly name: string;
  /** The source file of the patched object (STT_FILE), to pick among same-named locals. */
  readonly sourceFile: string | undefined;
  /** Names the original object defines, used as address anchors in vmlinux. */
  readonly definedNames: readonly { name: string; isFunction: boolean }[];
}

const isText = (s: KernelSymbol) => s.type === "t" || s.type === "T" || s.type === "W";

function ambiguous(name: string, object: string, n: number, why: string): KlpError {
  return refuse(`cannot resolve ${name} in ${object}`, [{
    symbol: name, reason: `${n} symbols of that name in ${object} and ${why}; cannot tell which one the patched code means`,
    hint: "give the helper a unique name in the patch, or call it through an exported function",
  }]);
}

/** 0 when the name is unique in the object, else the 1-based position in kallsyms order. */
function sympos(list: readonly KernelSymbol[], chosen: KernelSymbol): number {
  return list.length === 1 ? 0 : list.indexOf(chosen) + 1;
}

/**
 * Among same-named symbols of vmlinux or a module, the one nearest the patched object's other
 * symbols: both are linked object by object, so an object's functions (and its data) sit together.
 * In a module, addresses are offsets in a section and compare only within it.
 */
function pickByAnchors(name: string, object: string, table: SymbolTable, candidates: readonly KernelSymbol[], target: TargetObject, isFunction: boolean): KernelSymbol {
  const anchors: KernelSymbol[] = [];
  for (const d of target.definedNames) {
    const hits = table.byName.get(d.name);
    if (hits?.length === 1 && isText(hits[0]!) === isFunction) anchors.push(hits[0]!);
  }
  const r = nearestCopy(candidates, anchors);
  if ("copy" in r) return r.copy;
  throw ambiguous(name, object, candidates.length, r.why === "tie" ? "two are equally close to the object's other symbols"
    : `no other symbol of ${target.sourceFile ?? "the object"} locates it`);
}

function locate(ref: ExternRef, object: string, table: SymbolTable, target: TargetObject): Resolution | undefined {
  const list = table.byName.get(ref.name);
  if (!list?.length) return undefined;
  let chosen = list[0]!;
  if (list.length > 1) {
    // A module's own STT_FILE symbols settle it when its symbol table has them; Debian's modules
    // have none (gfs2.ko holds two local gfs2_qstr2dirent, dir.h's static inline compiled out of
    // line in dir.o and in inode.o), so then the object's other symbols locate it, as in vmlinux.
    const same = object === "vmlinux" ? [] : list.filter((s) => s.file !== undefined && s.file === target.sourceFile);
    chosen = same.length === 1 ? same[0]! : pickByAnchors(ref.name, object, table, list, target, ref.isFunction);
  }
  return { kind: "klp", object, name: ref.name, sympos: sympos(list, chosen), symbol: chosen, positional: list.length > 1 };
}

/**
 * `patched`: every object the livepatch patches. An export of a module among them must not become
 * a module dependency: the livepatch has to load before that module does (late module patching).
 * That holds for the object's own module and for another the same livepatch patches (a fix to
 * drivers/mmc/core/block.c and mmc.c: mmc_block's carried code calls mmc_core's exports).
 */
export function resolveExtern(ref: ExternRef, target: TargetObject, k: KernelView, patched: ReadonlySet<string> = new Set()): Resolution {
  const exp = k.exports.get(ref.name);
  const patchedModule = exp !== undefined && exp.module !== "vmlinux" && (exp.module === target.name || patched.has(exp.module));
  if (exp && !ref.local && !patchedModule) return { kind: "export", module: exp.module };
  if (exp && patchedModule && exp.module !== target.name) {
    const other = locate(ref, exp.module, k.moduleTable(exp.module), target);
    if (other) return other;
  }
  const inModule = target.name !== "vmlinux" ? locate(ref, target.name, k.moduleTable(target.name), target) : undefined;
  const found = inModule ?? locate(ref, "vmlinux", k.vmlinux, target);
  if (found) return found;
  if (exp) return { kind: "export", module: exp.module };
  const where = target.name === "vmlinux" ? "vmlinux" : `${target.name} module or vmlinux`;
  throw refuse(`the patched code needs ${ref.name}, which the target kernel does not have`, [{
    symbol: ref.name, reason: `not in the target kernel's ${where} (inlined or removed in that build?)`,
    hint: "patch the functions that use it instead of referring to it, or carry a copy of it in the patch",
  }]);
}

/** Where a patched function lives in the target: `old_sympos` and the symbol itself. */
export function locateFunction(name: string, target: TargetObject, k: KernelView): Extract<Resolution, { kind: "klp" }> {
  const table = target.name === "vmlinux" ? k.vmlinux : k.moduleTable(target.name);
  const found = locate({ name, definedInObject: true, local: true, isFunction: true }, target.name, table, target);
  if (!found || found.kind !== "klp") {
    throw refuse(`function ${name} is not in the target kernel's ${target.name}`, [{
      symbol: name, reason: `not in the target kernel's ${target.name}: it cannot be patched there (inlined into its callers in that build?)`,
      hint: "patch its callers instead",
    }]);
  }
  return found;
}
