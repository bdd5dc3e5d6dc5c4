// Layouts of the kernel structs behind the special sections, as data: a target kernel tells them
// (src/target/layouts.ts asks pahole about a probe compiled in its tree), bare objects imply them.

export interface FieldLayout { readonly offset: number; readonly size: number }
export interface StructLayout { readonly size: number; readonly fields: ReadonlyMap<string, FieldLayout> }
/** C struct name as in the kernel source ("alt_instr", "bug_entry", "exception_table_entry",
 *  "jump_entry", "static_call_site", "orc_entry", "paravirt_patch_site", …) → its layout;
 *  field names exactly as in the kernel source (alt_instr: instr_offset, repl_offset,
 *  cpuid (6.1) or ft_flags (6.12), instrlen, replacementlen; bug_entry: bug_addr_disp,
 *  file_disp, line, flags; …). A struct the target lacks is absent. */
export type Layouts = ReadonlyMap<string, StructLayout>;
