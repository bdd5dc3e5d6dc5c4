// Post-link step: turns the linked livepatch .ko's references to non-exported symbols into
// klp relocations. `ld -r` (and so kbuild's module link) keeps neither SHN_LIVEPATCH nor
// SHF_RELA_LIVEPATCH, so this runs on the final .ko, as kpatch and upstream klp-build do
// (Documentation/livepatch/module-elf-format.rst, sections 3 and 4).
import * as C from "../elf/constants.js";
import type { OutObject, OutReloc, OutSection } from "../elf/model.js";
import { ElfFile } from "../elf/reader.js";
import { toModel } from "../elf/to-model.js";
import { writeElf } from "../elf/writer.js";
import { badInput, refuse, type KlpError } from "../errors.js";
import type { Layouts } from "../object/layouts.js";
import { LOAD_TIME_TABLES } from "../object/tables.js";
import { leaveOutLateEntries, type LeftOutEntry } from "./late-entries.js";

export const SHN_LIVEPATCH = 0xff20;
export const SHF_RELA_LIVEPATCH = 0x00100000;

export interface KlpSymbol {
  readonly object: string;
  readonly name: string;
  readonly sympos: number;
}

const EARLY_OBJECT = "vmlinux";

/** A reference from a load-time table that would become a klp relocation against a module. */
export interface LateTableReference {
  readonly symbol: string;
  readonly module: string;
  readonly table: string;
}

/** True when `plan` makes `name` a klp symbol of a module: applied only when that module is patched. */
export function isModuleSymbol(plan: ReadonlyMap<string, KlpSymbol>, name: string): boolean {
  const k = plan.get(name);
  return k !== undefined && k.object !== EARLY_OBJECT;
}

/** References from load-time tables of `obj` that would become klp relocations against a module (see LOAD_TIME_TABLES). */
export function lateTableReferences(obj: OutObject, plan: ReadonlyMap<string, KlpSymbol>): LateTableReference[] {
  const out: LateTableReference[] = [];
  for (const sec of obj.sections) {
    if (!sec.relocs || !LOAD_TIME_TABLES.has(sec.relocs.target.name)) continue;
    for (const r of sec.relocs.entries) {
      const k = r.symbol && !r.symbol.section && r.symbol.shndx === C.SHN_UNDEF ? plan.get(r.symbol.name) : undefined;
      if (k && k.object !== EARLY_OBJECT) out.push({ symbol: r.symbol!.name, module: k.object, table: sec.relocs.target.name });
    }
  }
  return out;
}

/** The refusal for `late` (not empty), about `file`; `what` says which object, if the file does not. */
export function lateTableRefusal(late: readonly LateTableReference[], file: string, what = ""): KlpError {
  const { table, module } = late[0]!;
  return refuse(`${what}the patched code's ${table} needs klp relocations against module ${module}, which the kernel applies only when that module is patched, after it read the livepatch's tables`,
    late.map((l) => ({
      symbol: l.symbol, reason: `${l.table} entry of module ${l.module} would need a klp relocation applied too late`,
      hint: l.table === "__jump_table"
        ? `patched code cannot branch on a static key of ${l.module} (a tracepoint's is left out, the tracepoint off): test the key with static_key_enabled() instead of static_branch_*()`
        : `patched code can refer to ${l.symbol} from its instructions, not from ${l.table}`,
    })), file);
}

export const klpSymbolName = (s: KlpSymbol) => `.klp.sym.${s.object}.${s.name},${s.sympos}`;

/** `model` without the sections named in `drop`, their symbols and their relocations. */
function dropSections(koPath: string, model: OutObject, drop: ReadonlySet<string>): void {
  const gone = new Set(model.sections.filter((s) => drop.has(s.name)));
  if (!gone.size) return;
  model.sections = model.sections.filter((s) => !gone.has(s) && !(s.relocs && gone.has(s.relocs.target)));
  const dropped = new Set(model.symbols.filter((s) => s.section && gone.has(s.section)));
  model.symbols = model.symbols.filter((s) => !dropped.has(s));
  for (const sec of model.sections) {
    if (!sec.relocs) continue;
    const refers = sec.relocs.entries.filter((r) => r.symbol && dropped.has(r.symbol));
    if (!refers.length) continue;
    // The DWARF of a KLPKIT_SYMPOS record describes a variable that is left out: its location
    // may point nowhere. Loaded code or data that uses one would be broken: refuse.
    if (sec.relocs.target.flags & C.SHF_ALLOC) {
      throw badInput(koPath, `${sec.relocs.target.name} refers to ${refers[0]!.symbol!.name} in ${[...gone][0]!.name}, which is left out of the output`);
    }
    sec.relocs.entries = sec.relocs.entries.filter((r) => !refers.includes(r));
  }
}

/**
 * Rewrites `ko` so that every reference to a symbol in `plan` is a klp relocation; sections
 * named in `drop` (klp convert's `.klpkit.sympos` annotations) are left out.
 */
export function convertToLivepatch(koPath: string, ko: Buffer, plan: ReadonlyMap<string, KlpSymbol>, drop: ReadonlySet<string> = new Set(),
  layouts?: Layouts): { data: Buffer; leftOut: LeftOutEntry[] } {
  const f = ElfFile.parse(koPath, ko);
  const model = toModel(f);
  dropSections(koPath, model, drop);
  // The static call sites objtool writes when it links a 6.12 module are only here.
  const leftOut = leaveOutLateEntries(model, (name) => isModuleSymbol(plan, name), layouts);
  const late = lateTableReferences(model, plan);
  if (late.length) throw lateTableRefusal(late, koPath);
  const klpObject = new Map<object, string>();
  for (const s of model.symbols) {
    const k = s.section || s.shndx !== C.SHN_UNDEF ? undefined : plan.get(s.name);
    if (!k) continue;
    s.name = klpSymbolName(k);
    s.shndx = SHN_LIVEPATCH;
    s.bind = C.STB_GLOBAL;
    klpObject.set(s, k.object);
  }
  const added: OutSection[] = [];
  for (const sec of model.sections) {
    if (!sec.relocs) continue;
    const target = sec.relocs.target;
    const keep: OutReloc[] = [];
    const moved = new Map<string, OutReloc[]>();
    for (const r of sec.relocs.entries) {
      const obj = r.symbol ? klpObject.get(r.symbol) : undefined;
      if (obj === undefined) { keep.push(r); continue; }
      const list = moved.get(obj) ?? [];
      list.push(r);
      moved.set(obj, list);
    }
    sec.relocs.entries = keep;
    for (const [obj, entries] of moved) {
      added.push({
        name: `.klp.rela.${obj}${target.name.startsWith(".") ? "" : "."}${target.name}`,
        type: C.SHT_RELA, flags: C.SHF_ALLOC | C.SHF_INFO_LINK | SHF_RELA_LIVEPATCH, addralign: 8, entsize: C.RELA_SIZE,
        relocs: { target, entries },
      });
    }
  }
  model.sections = model.sections.filter((s) => !s.relocs || s.relocs.entries.length > 0).concat(added);
  return { data: writeElf(model), leftOut };
}
