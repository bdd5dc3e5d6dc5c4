// Helpers for writing down the shapes kernel structs had (x86_64-structs.ts, aarch64-structs.ts),
// and the shapes of the generic structs every architecture shares: `struct bug_entry`
// (include/asm-generic/bug.h) and `struct jump_entry` (include/linux/jump_label.h).
import type { KnownLayout } from "./types.js";

/** [name, offset, size, holds a relocation in every entry] */
export type Field = readonly [string, number, number, boolean?];

export const REF = true;

export function shape(size: number, era: string, fields: readonly Field[]): KnownLayout {
  return {
    size, era,
    fields: new Map(fields.map(([name, offset, fsize]) => [name, { offset, size: fsize }])),
    refs: fields.filter((f) => f[3]).map((f) => f[0]),
  };
}

export const GENERIC_STRUCTS: ReadonlyMap<string, readonly KnownLayout[]> = new Map([
  ["bug_entry", [
    // CONFIG_GENERIC_BUG_RELATIVE_POINTERS with DEBUG_BUGVERBOSE (every x86-64 and arm64
    // distribution kernel): s32 bug_addr_disp; s32 file_disp; u16 line; u16 flags;
    shape(12, "relative pointers, verbose", [["bug_addr_disp", 0, 4, REF], ["file_disp", 4, 4, REF],
      ["line", 8, 2], ["flags", 10, 2]]),
    shape(8, "relative pointers, !DEBUG_BUGVERBOSE", [["bug_addr_disp", 0, 4, REF], ["flags", 4, 2]]),
    // Without relative pointers the kernel stores absolute addresses: unsigned long bug_addr;
    // const char *file; u16 line; u16 flags; padded to 24 bytes.
    shape(24, "absolute pointers, verbose", [["bug_addr", 0, 8, REF], ["file", 8, 8, REF],
      ["line", 16, 2], ["flags", 18, 2]]),
    shape(16, "absolute pointers, !DEBUG_BUGVERBOSE", [["bug_addr", 0, 8, REF], ["flags", 8, 2]]),
  ]],
  ["jump_entry", [
    // v4.20 and later (CONFIG_HAVE_ARCH_JUMP_LABEL_RELATIVE): s32 code; s32 target; long key;
    shape(16, "v4.20 and later (relative)", [["code", 0, 4, REF], ["target", 4, 4, REF], ["key", 8, 8, REF]]),
    // Before: jump_label_t code, target, key; (absolute u64 addresses)
    shape(24, "before v4.20 (absolute)", [["code", 0, 8, REF], ["target", 8, 8, REF], ["key", 16, 8, REF]]),
  ]],
]);
