// Special sections: tables whose fixed-size entries each belong to the function their first
// relocation points into. Sizes are Linux 6.1 x86-64's (from the kernel's DWARF:
// alt_instr 12, bug_entry 12, exception_table_entry 12, jump_entry 16, orc_entry 6,
// paravirt_patch_site 16, static_call_site 8).

export interface SpecialTable {
  readonly name: string;
  readonly entrySize: number;
  /** Offset inside an entry of the field whose relocation names the owning code. */
  readonly ownerField: number;
  /** Byte ranges [offset, length] inside an entry that are not semantic, e.g. bug_entry.line. */
  readonly ignore?: readonly (readonly [number, number])[];
  /** True when a difference in the entry is a difference in the function (not derived from code). */
  readonly semantic: boolean;
  /**
   * A field pointing at a blob in a shared section, with the offset of the u8 giving its
   * length: struct alt_instr's repl_offset → .altinstr_replacement, replacementlen at byte 11.
   * The blob's content matters, not where other functions' blobs pushed it.
   */
  readonly blob?: { readonly field: number; readonly lengthAt: number };
  /** A parallel table with one entry per entry of this one, and its entry size (ORC). */
  readonly parallel?: { readonly name: string; readonly entrySize: number };
}

export const SPECIAL_TABLES_6_1_X86: readonly SpecialTable[] = [
  // struct bug_entry { s32 bug_addr_disp; s32 file_disp; u16 line; u16 flags; }: the line moves
  // with every edit above a WARN_ON, and means nothing for the code.
  { name: "__bug_table", entrySize: 12, ownerField: 0, ignore: [[8, 2]], semantic: true },
  { name: "__ex_table", entrySize: 12, ownerField: 0, semantic: true },
  { name: "__jump_table", entrySize: 16, ownerField: 0, semantic: true },
  { name: ".altinstructions", entrySize: 12, ownerField: 0, semantic: true, blob: { field: 4, lengthAt: 11 } },
  { name: ".parainstructions", entrySize: 16, ownerField: 0, semantic: false },
  { name: ".static_call_sites", entrySize: 8, ownerField: 0, semantic: false },
  { name: ".smp_locks", entrySize: 4, ownerField: 0, semantic: false },
  { name: ".retpoline_sites", entrySize: 4, ownerField: 0, semantic: false },
  { name: ".return_sites", entrySize: 4, ownerField: 0, semantic: false },
  { name: "__mcount_loc", entrySize: 8, ownerField: 0, semantic: false },
  { name: ".orc_unwind_ip", entrySize: 4, ownerField: 0, semantic: false, parallel: { name: ".orc_unwind", entrySize: 6 } },
];

export function specialTable(name: string): SpecialTable | undefined {
  return SPECIAL_TABLES_6_1_X86.find((t) => t.name === name);
}
