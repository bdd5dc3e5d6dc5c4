// Places no symbol names: what the bytes a relocation points at amount to, so two builds can be
// compared by content where the compiler numbers labels per translation unit.
import type { ElfSection } from "../elf/types.js";
import * as C from "../elf/constants.js";

/**
 * A section holding exactly one compiler-private object, named after its `.L` label under
 * -fdata-sections: clang's `.rodata..L__const.show.tbl` (a local array's initialiser), GCC's
 * `.data..Lubsan_data12` and `.data..Lubsan_type3`, clang's `.data..L__unnamed_4` (UBSAN).
 */
export function isPrivateObjectSection(s: ElfSection): boolean {
  return s.name.includes("..L") && (s.flags & C.SHF_MERGE) === 0;
}

/**
 * The label of a private object section without the compiler's counter: `.data..Lubsan_data12`
 * and `.data..Lubsan_data13` are the same kind of object, told apart by content.
 */
export function privateObjectKind(name: string): string {
  return name.replace(/\d+$/, "");
}

/**
 * Byte ranges of a private object that only say where in the source it was made: a UBSAN
 * handler's data starts with `struct source_location { const char *file; u32 line; u32 column; }`
 * (lib/ubsan.h), so a line shift above a checked expression changes them and nothing else. Type
 * descriptors (`Lubsan_type`) have no location and no relocation at offset 0.
 */
export function locationRanges(s: ElfSection, relocAtZero: boolean, pointerSize: number): [number, number][] {
  const ubsan = /^\.data\.\.L(ubsan_data|__unnamed_)/.test(s.name);
  return ubsan && relocAtZero && s.size >= pointerSize + 8 ? [[pointerSize, 8]] : [];
}

/** Mergeable constants (`.rodata.cst16`): each entry of sh_entsize bytes is one constant. */
export function constantPoolEntry(s: ElfSection): number {
  return (s.flags & (C.SHF_MERGE | C.SHF_STRINGS)) === C.SHF_MERGE && s.entsize > 0 ? s.entsize : 0;
}
