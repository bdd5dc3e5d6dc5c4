// What `klp check` found wrong with a livepatch module, as data: each finding names what it is
// about (a replaced function, a symbol, the module), why it is unsafe, and what to do instead.

export type FindingKind =
  /** The function is not in the target object under that name. */
  | "missing"
  /** Several same-named functions and old_sympos 0 (or a position past the last one). */
  | "ambiguous"
  /** The compiler made `.isra`/`.constprop`/`.part` clones: callers may call the clone. */
  | "clone"
  /**
   * The replacement's parameters or return type differ from the original's as the compiler
   * emitted it (DWARF of both; an IPA-SRA clone's are not its C declaration's).
   */
  | "signature"
  /** The function has no ftrace site (notrace, or noinstr): the livepatch core cannot hook it. */
  | "notrace"
  /** The function was inlined into callers, which keep the old code. */
  | "inlined"
  /** What the check could not establish (the defining object, its DWARF): not proven safe. */
  | "unverified"
  /** An undefined symbol no export provides and no klp relocation covers: the load fails. */
  | "unresolved"
  /** An export of a symbol namespace the module does not import: the module loader refuses it. */
  | "namespace"
  /** A `.klp.sym` symbol or `.klp.rela` section the kernel would reject. */
  | "klp-relocation"
  /** A klp_object names a module the target does not have as a loadable module. */
  | "object"
  /** .modinfo: not `livepatch=Y`, or built for another kernel (vermagic). */
  | "modinfo";

export interface Finding {
  readonly kind: FindingKind;
  /** "vmlinux", a module name, or the livepatch module itself. */
  readonly object: string;
  /** The replaced function or the symbol it is about. */
  readonly symbol: string;
  readonly reason: string;
  readonly hint: string;
}

export function findingLine(f: Finding): string {
  return `${f.object}: ${f.symbol}: [${f.kind}] ${f.reason} (what to do: ${f.hint})`;
}
