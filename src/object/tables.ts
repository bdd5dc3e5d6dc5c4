// Special sections: tables whose fixed-size entries each belong to the function their owner
// field points into. Each table is described once, by the kernel struct its entries are and the
// names of its fields; entry sizes and offsets come from the target's layouts or are inferred
// from the object (table-layouts.ts), never from a per-version constant.

interface TableSpecBase {
  readonly section: string;
  /** True when a difference in an entry is a difference in its function (not derived from code). */
  readonly semantic: boolean;
  /** A parallel table with one entry per entry of this one (ORC: .orc_unwind beside .orc_unwind_ip). */
  readonly parallel?: { readonly section: string; readonly struct: string };
}

/** A table of structs: bug_entry, exception_table_entry, jump_entry, alt_instr, … */
export interface StructTableSpec extends TableSpecBase {
  readonly kind: "struct";
  readonly struct: string;
  /** The field naming the owning code; the first of these the layout has (names changed over time). */
  readonly owner: readonly string[];
  /** Fields whose values mean nothing for the code, e.g. bug_entry.line. */
  readonly ignore?: readonly string[];
  /**
   * A field pointing at a blob in a shared section, and the field giving its length:
   * alt_instr.repl_offset → .altinstr_replacement, replacementlen bytes. The blob's content
   * matters, not where other functions' blobs pushed it. Names as `owner`: arm64's alt_instr
   * calls them alt_offset and alt_len.
   */
  readonly blob?: { readonly field: readonly string[]; readonly length: readonly string[] };
  /** The field naming a static key or a static call key. */
  readonly key?: string;
}

/** A list of code locations, one relocation per entry (`.long insn - .` or `.quad insn`). */
export interface SiteTableSpec extends TableSpecBase {
  readonly kind: "sites";
  /** Its entries tell ftrace where a function's patchable entry is. */
  readonly ftrace?: boolean;
  /**
   * Not carried: objtool lists every site of the livepatch module itself when it links it, and
   * a list already in one of its objects would stop it ("file already has .cfi_sites section,
   * skipping"), leaving the module's own init and exit out.
   */
  readonly listedAtModuleLink?: boolean;
}

export type TableSpec = StructTableSpec | SiteTableSpec;

export const TABLE_SPECS: readonly TableSpec[] = [
  // The line moves with every edit above a WARN_ON, and means nothing for the code.
  { kind: "struct", section: "__bug_table", struct: "bug_entry", owner: ["bug_addr_disp", "bug_addr"], ignore: ["line"], semantic: true },
  { kind: "struct", section: "__ex_table", struct: "exception_table_entry", owner: ["insn"], semantic: true },
  { kind: "struct", section: "__jump_table", struct: "jump_entry", owner: ["code"], key: "key", semantic: true },
  // x86's { instr_offset, repl_offset, …, replacementlen }; arm64's { orig_offset, alt_offset,
  // cpucap, orig_len, alt_len } (arch/arm64/include/asm/alternative-macros.h).
  { kind: "struct", section: ".altinstructions", struct: "alt_instr", owner: ["instr_offset", "orig_offset"], semantic: true,
    blob: { field: ["repl_offset", "alt_offset"], length: ["replacementlen", "alt_len"] } },
  // Gone in 6.8, when paravirt patch sites became alternatives.
  { kind: "struct", section: ".parainstructions", struct: "paravirt_patch_site", owner: ["instr"], semantic: false },
  { kind: "struct", section: ".static_call_sites", struct: "static_call_site", owner: ["addr"], key: "key", semantic: false },
  { kind: "sites", section: ".smp_locks", semantic: false },
  { kind: "sites", section: ".retpoline_sites", semantic: false },
  { kind: "sites", section: ".return_sites", semantic: false },
  // 6.2+ call depth tracking (CALL_THUNKS, Debian's 6.12): objtool lists every direct call.
  { kind: "sites", section: ".call_sites", semantic: false },
  // 6.2+ IBT: endbr64 instructions objtool found superfluous, sealed at boot and module load.
  { kind: "sites", section: ".ibt_endbr_seal", semantic: false },
  // kCFI: the __cfi_ preambles and the ud2 of each type check. The preambles are listed only for
  // FineIBT kernels (IBT + kCFI), whose objtool runs when a module is linked: at load their hashes
  // are re-randomised with vmlinux's, and an unlisted preamble (a livepatch's init_module, when a
  // carried object from an objtool'd module brought its own list) fails its callers' check.
  { kind: "sites", section: ".cfi_sites", semantic: false, listedAtModuleLink: true },
  { kind: "sites", section: ".kcfi_traps", semantic: false },
  { kind: "sites", section: "__mcount_loc", semantic: false, ftrace: true },
  { kind: "sites", section: "__patchable_function_entries", semantic: false, ftrace: true },
  { kind: "sites", section: ".orc_unwind_ip", semantic: false, parallel: { section: ".orc_unwind", struct: "orc_entry" } },
];

const BY_SECTION = new Map(TABLE_SPECS.map((t) => [t.section, t] as const));

export function tableSpec(section: string): TableSpec | undefined {
  return BY_SECTION.get(section);
}

/** Position of a table in TABLE_SPECS: entries of one function are kept in this order. */
export function tableRank(section: string): number {
  const spec = BY_SECTION.get(section);
  return spec ? TABLE_SPECS.indexOf(spec) : TABLE_SPECS.length;
}

/** One table of one object, with its entry size and field offsets resolved. */
export interface SpecialTable {
  readonly name: string;
  readonly spec: TableSpec;
  readonly entrySize: number;
  /** Offset inside an entry of the field whose relocation names the owning code. */
  readonly ownerField: number;
  /** Byte ranges [offset, length] inside an entry that are not semantic. */
  readonly ignore: readonly (readonly [number, number])[];
  readonly semantic: boolean;
  readonly blob?: { readonly field: number; readonly lengthAt: number; readonly lengthSize: number };
  readonly keyField?: number;
  readonly parallel?: { readonly name: string; readonly entrySize: number };
}

/**
 * Tables the module loader reads while loading the livepatch (jump labels, alternatives,
 * paravirt, static calls, the exception table). Klp relocations against vmlinux are applied
 * while the livepatch loads, before these tables are read (kernel/module/main.c:
 * apply_relocations → klp_apply_section_relocs(..., NULL), since v5.8), so a carried
 * `trace_task_rename()` may name the unexported `__tracepoint_task_rename` key through one.
 * Those against a module are applied only when that module is patched (klp_init_object_loaded),
 * after the tables were read: a table entry may not depend on one.
 */
export const LOAD_TIME_TABLES: ReadonlySet<string> = new Set(["__jump_table", ".altinstructions", ".altinstr_replacement", ".parainstructions", ".static_call_sites", "__ex_table"]);
