// Which undefined symbols of a hand-made livepatch become klp relocations, and against what:
// a name the target exports stays an ordinary relocation (the module loader resolves it);
// any other name must be exactly one symbol of vmlinux or of a module the livepatch patches
// (a module's klp relocations are applied only when that module is patched, so no other
// module can hold it), or the author's KLPKIT_SYMPOS choice says which one.
import { refuse, type Refusal } from "../errors.js";
import type { KernelSymbol, KernelView, SymbolTable } from "../target/symbols.js";
import type { KlpSymbol } from "./convert.js";
import type { SymposChoice } from "./sympos-annotations.js";

/** One same-named symbol of the target, with its klp position in its object. */
export interface Candidate {
  readonly object: string;
  readonly sympos: number;
  readonly symbol: KernelSymbol;
  /**
   * What a reader can find it by: the nearest uniquely named symbol before it (kallsyms has no
   * source files, and Debian's .ko files no STT_FILE symbols), or its STT_FILE where there is one.
   */
  readonly where: string;
}

export interface ConvertedSymbol extends KlpSymbol {
  readonly address: string;
  readonly where: string;
  /** "unique" when the name is one symbol of the target, else how the author chose. */
  readonly chosenBy: "unique" | "KLPKIT_SYMPOS";
}

export interface ConvertPlan {
  readonly plan: ReadonlyMap<string, KlpSymbol>;
  readonly converted: readonly ConvertedSymbol[];
  /** Undefined symbols the target exports: left to the module loader. */
  readonly exported: readonly string[];
}

/**
 * The nearest uniquely named symbol of the same kind (text or data) before `s`: what a reader
 * can find in the source (vmlinux's second load_elf_binary follows compat_binfmt_elf.c's
 * `elf_map.isra.0`).
 */
function landmark(table: SymbolTable, s: KernelSymbol): string {
  const kind = s.type.toLowerCase();
  for (let i = table.symbols.indexOf(s) - 1; i >= 0; i--) {
    const prev = table.symbols[i]!;
    if (prev.type.toLowerCase() === kind && table.byName.get(prev.name)?.length === 1) return `after ${prev.name}`;
  }
  return "first of its object";
}

function candidatesIn(object: string, table: SymbolTable, name: string): Candidate[] {
  const list = table.byName.get(name) ?? [];
  return list.map((symbol, i) => ({
    object, symbol, sympos: list.length === 1 ? 0 : i + 1,
    where: symbol.file ?? landmark(table, symbol),
  }));
}

/**
 * Where `s` lies, as a reader finds it: a vmlinux address as /proc/kallsyms prints it (the
 * symbol tables keep its low 48 bits), a module symbol's offset in its section.
 */
export function shownAddress(object: string, s: KernelSymbol): string {
  return object === "vmlinux" ? `0x${(BigInt(s.address) | 0xffff000000000000n).toString(16)}` : `+0x${s.address.toString(16)}`;
}

export const describeCandidate = (c: Candidate) =>
  `${c.object} ${c.where} ${shownAddress(c.object, c.symbol)} (${c.symbol.type}, sympos ${c.sympos})`;

/** Whether the author's KLPKIT_SYMPOS(name, object, pos) names `c` among `all`. */
function annotationMatches(c: Candidate, choice: SymposChoice, all: readonly Candidate[]): boolean {
  if (c.object !== choice.object) return false;
  // sympos 0 means "the only one", and so does 1 where there is only one (klp_find_object_symbol).
  const alone = all.filter((x) => x.object === choice.object).length === 1;
  return c.sympos === choice.pos || (alone && choice.pos <= 1);
}

const listed = (cs: readonly Candidate[]) => cs.map(describeCandidate).join("; ");

function pick(name: string, all: readonly Candidate[], choice: SymposChoice | undefined, searched: readonly string[]): Candidate | Refusal {
  if (!all.length) {
    return { symbol: name, reason: "neither exported by the target nor in vmlinux or a module this livepatch patches: insmod would fail with \"Unknown symbol\"",
      hint: "check the name against the target's kallsyms (it may be inlined or renamed in this build), or add the module that defines it as a klp_object" };
  }
  if (choice) {
    const hits = all.filter((c) => annotationMatches(c, choice, all));
    if (hits.length === 1) return hits[0]!;
    const said = `KLPKIT_SYMPOS(${name}, ${choice.object}, ${choice.pos})`;
    if (!searched.includes(choice.object)) {
      return { symbol: name, reason: `${said} names ${choice.object}, which this livepatch does not patch: its klp relocations would never be applied`,
        hint: `name vmlinux or a module the livepatch has a klp_object for (${searched.join(", ")})` };
    }
    return { symbol: name, reason: `${said} picks none of the target's ${all.length} symbol(s) of that name: ${listed(all)}`,
      hint: "name one of the candidates listed, by its object and sympos" };
  }
  if (all.length === 1) return all[0]!;
  return { symbol: name, reason: `${all.length} symbols of that name in the target: ${listed(all)}`,
    hint: `say which one with KLPKIT_SYMPOS(${name}, <object>, <sympos>) from <linux/klpkit.h>` };
}

/**
 * The klp symbol for every undefined name of the module that the target does not export.
 * `objects` are the livepatch's klp_object names (vmlinux always counts). Refuses (exit 1),
 * naming every symbol at once, when one is missing or ambiguous.
 */
export function planConversion(file: string, undefinedNames: readonly string[], choices: ReadonlyMap<string, SymposChoice>,
  objects: readonly string[], k: KernelView): ConvertPlan {
  const searched = ["vmlinux", ...new Set(objects.filter((o) => o !== "vmlinux"))];
  const plan = new Map<string, KlpSymbol>();
  const converted: ConvertedSymbol[] = [];
  const exported: string[] = [];
  const refusals: Refusal[] = [];
  for (const name of new Set(undefinedNames)) {
    const choice = choices.get(name);
    // An annotation wins over an export of the same name: the author means a static twin.
    if (!choice && k.exports.has(name)) { exported.push(name); continue; }
    const all = searched.flatMap((o) => candidatesIn(o, o === "vmlinux" ? k.vmlinux : k.moduleTable(o), name));
    const got = pick(name, all, choice, searched);
    if ("reason" in got) { refusals.push(got); continue; }
    plan.set(name, { object: got.object, name, sympos: got.sympos });
    converted.push({ object: got.object, name, sympos: got.sympos, address: shownAddress(got.object, got.symbol), where: got.where,
      chosenBy: choice ? "KLPKIT_SYMPOS" : "unique" });
  }
  for (const [name, c] of choices) {
    if (!undefinedNames.includes(name)) {
      refusals.push({ symbol: name, reason: `annotated for ${c.object}, but the module does not refer to ${name}`, hint: "remove the annotation, or fix its name" });
    }
  }
  if (refusals.length) throw refuse(`${refusals.length} symbol(s) cannot be converted into klp relocations; nothing written`, refusals, file);
  return { plan, converted, exported };
}
