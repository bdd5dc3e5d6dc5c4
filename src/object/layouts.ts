// The layouts of the kernel structs that special sections are arrays of, as the target kernel
// declares them. `src/target/` learns them from the target (pahole on a probe object built in
// its tree) and hands them to the engine; without a target they are inferred from the objects
// (object/table-layouts.ts). This is the interface between the two: names must not change.

export interface FieldLayout { readonly offset: number; readonly size: number }
export interface StructLayout { readonly size: number; readonly fields: ReadonlyMap<string, FieldLayout> }
/** C struct name as in the kernel source ("alt_instr", "bug_entry", "exception_table_entry",
 *  "jump_entry", "static_call_site", "orc_entry", "paravirt_patch_site", …) → its layout;
 *  field names exactly as in the kernel source (alt_instr: instr_offset, repl_offset,
 *  cpuid (6.1) or ft_flags (6.12), instrlen, replacementlen; bug_entry: bug_addr_disp,
 *  file_disp, line, flags; …). A struct the target lacks is absent. */
export type Layouts = ReadonlyMap<string, StructLayout>;

/** A layout from `[name, offset, size]` triples (for tables of known layouts and for tests). */
export function structLayout(size: number, fields: readonly (readonly [string, number, number])[]): StructLayout {
  return { size, fields: new Map(fields.map(([name, offset, fsize]) => [name, { offset, size: fsize }])) };
}
