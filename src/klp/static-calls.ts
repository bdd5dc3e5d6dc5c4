// Static call sites of carried code. A vmlinux object's `.static_call_sites` entries name the
// key (`__SCK__cond_resched`), which is usually not exported: only the trampoline is
// (EXPORT_STATIC_CALL_TRAMP). A module's entries may name the trampoline instead, and the
// kernel looks the key up from it (kernel/static_call_inline.c: static_call_add_module →
// tramp_key_lookup). objtool does the same for module objects; klpkit does it for carried code.
import { archFor } from "../arch/index.js";
import { SHF_EXECINSTR, SHN_UNDEF, STB_GLOBAL, STT_FUNC, STT_NOTYPE, STT_SECTION } from "../elf/constants.js";
import type { OutObject, OutSection, OutSymbol } from "../elf/model.js";
import { badInput } from "../errors.js";
import { RelocTable } from "../elf/relocs.js";
import type { Layouts } from "../object/layouts.js";
import { resolveTable } from "../object/table-layouts.js";
import { tableSpec } from "../object/tables.js";
import type { Export } from "../target/symbols.js";

const KEY_PREFIX = "__SCK__";
const TRAMP_PREFIX = "__SCT__";

/**
 * Entry size, key offset and code (owner) offset of an emitted `__jump_table` or
 * `.static_call_sites`, resolved as the diff resolves an object's tables (table-layouts.ts): the
 * target's layouts, else the known shape that sh_entsize (emit.ts sets it) or, in a linked module
 * that keeps none, the section's relocations fit.
 */
export function keyField(obj: OutObject, table: OutSection, layouts?: Layouts): { size: number; field: number; owner: number } | undefined {
  const spec = tableSpec(table.name);
  if (spec?.kind !== "struct" || !spec.key) return undefined;
  const arch = archFor(obj.machine);
  if (!arch) throw badInput(undefined, `${table.name}: no layout of struct ${spec.struct} for machine ${obj.machine}`);
  const entries = [...(obj.sections.find((s) => s.relocs?.target === table)?.relocs?.entries ?? [])].sort((x, y) => x.offset - y.offset);
  const relocs = RelocTable.alloc(entries.length, false);
  entries.forEach((r, i) => { relocs.offsets[i] = r.offset; relocs.types[i] = r.type; });
  const into = (i: number) => entries[i]!.symbol?.section;
  const isCode = (i: number) => ((into(i)?.flags ?? 0) & SHF_EXECINSTR) !== 0;
  const t = resolveTable(spec, {
    name: table.name, size: table.data?.length ?? 0, entsize: table.entsize, relocs,
    refersToCode: isCode,
    // A section symbol or a function's own: carried code keeps one function per section.
    refersToFunction: (i) => isCode(i) && (entries[i]!.symbol!.type === STT_FUNC || entries[i]!.symbol!.type === STT_SECTION),
  }, { arch, layouts, file: undefined });
  return { size: t.entrySize, field: t.keyField!, owner: t.ownerField };
}

/** Points unexported static-call keys at their exported trampolines; returns the keys no longer referenced. */
export function keysThroughTrampolines(obj: OutObject, exports: ReadonlyMap<string, Export>, layouts?: Layouts): string[] {
  const undef = new Map(obj.symbols.filter((s) => !s.section && s.shndx === SHN_UNDEF).map((s) => [s.name, s] as const));
  const replaced = new Set<string>();
  for (const sec of obj.sections) {
    if (sec.relocs?.target.name !== ".static_call_sites") continue;
    const { size, field } = keyField(obj, sec.relocs.target, layouts)!;
    for (const r of sec.relocs.entries) {
      const key = r.symbol?.name ?? "";
      if (r.offset % size !== field || !key.startsWith(KEY_PREFIX) || exports.has(key) || r.symbol?.section) continue;
      const tramp = TRAMP_PREFIX + key.slice(KEY_PREFIX.length);
      if (!exports.has(tramp)) continue;
      let t: OutSymbol | undefined = undef.get(tramp);
      if (!t) {
        t = { name: tramp, value: 0, size: 0, bind: STB_GLOBAL, type: STT_NOTYPE, other: 0, shndx: SHN_UNDEF };
        obj.symbols.push(t);
        undef.set(tramp, t);
      }
      r.symbol = t;
      replaced.add(key);
    }
  }
  const stillUsed = new Set(obj.sections.flatMap((s) => s.relocs?.entries.map((r) => r.symbol?.name) ?? []));
  const unused = [...replaced].filter((k) => !stillUsed.has(k));
  obj.symbols = obj.symbols.filter((s) => !unused.includes(s.name) || s.section !== undefined);
  return unused;
}

/**
 * Keys the carried code uses that another module defines. Linking against them would make the
 * livepatch depend on (and force-load) that module, and its jump entries would have to wait for
 * it; the livepatch core has no way to order that, so such patches are refused.
 */
export function foreignKeys(obj: OutObject, exports: ReadonlyMap<string, Export>, patchedObject: string, layouts?: Layouts): { key: string; module: string; table: string }[] {
  const out: { key: string; module: string; table: string }[] = [];
  for (const sec of obj.sections) {
    const t = sec.relocs ? keyField(obj, sec.relocs.target, layouts) : undefined;
    if (!t || !sec.relocs) continue;
    for (const r of sec.relocs.entries) {
      if (r.offset % t.size !== t.field || !r.symbol || r.symbol.section) continue;
      const exp = exports.get(r.symbol.name);
      if (exp && exp.module !== "vmlinux" && exp.module !== patchedObject) out.push({ key: r.symbol.name, module: exp.module, table: sec.relocs.target.name });
    }
  }
  return out;
}
