// Post-link step: turns the linked livepatch .ko's references to non-exported symbols into
// klp relocations. `ld -r` (and so kbuild's module link) keeps neither SHN_LIVEPATCH nor
// SHF_RELA_LIVEPATCH, so this runs on the final .ko, as kpatch and upstream klp-build do
// (Documentation/livepatch/module-elf-format.rst, sections 3 and 4).
import * as C from "../elf/constants.js";
import type { OutReloc, OutSection } from "../elf/model.js";
import { ElfFile } from "../elf/reader.js";
import { toModel } from "../elf/to-model.js";
import { writeElf } from "../elf/writer.js";
import { ExitCode, KlpError } from "../errors.js";

export const SHN_LIVEPATCH = 0xff20;
export const SHF_RELA_LIVEPATCH = 0x00100000;

export interface KlpSymbol {
  readonly object: string;
  readonly name: string;
  readonly sympos: number;
}

/**
 * Tables the module loader reads while loading the livepatch (jump labels, alternatives,
 * paravirt, static calls, the exception table): their relocations are needed then, but klp
 * relocations are applied only after the module is loaded, so they may not depend on one.
 */
const LOAD_TIME_TABLES = new Set(["__jump_table", ".altinstructions", ".altinstr_replacement", ".parainstructions", ".static_call_sites", "__ex_table"]);

export const klpSymbolName = (s: KlpSymbol) => `.klp.sym.${s.object}.${s.name},${s.sympos}`;

/** Rewrites `ko` so that every reference to a symbol in `plan` is a klp relocation. */
export function convertToLivepatch(koPath: string, ko: Buffer, plan: ReadonlyMap<string, KlpSymbol>): Buffer {
  const f = ElfFile.parse(koPath, ko);
  const model = toModel(f);
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
      if (LOAD_TIME_TABLES.has(target.name)) {
        throw new KlpError(ExitCode.refused, `${target.name} entry refers to ${r.symbol!.name}, which only a klp relocation can reach; the module loader needs it before klp relocations are applied (a static key, static call or alternative that is not exported)`, koPath);
      }
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
  return writeElf(model);
}
