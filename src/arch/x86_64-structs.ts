// The shapes x86-64 kernels gave the structs of their special sections over time, used only when
// no target kernel tells the engine its layouts (bare `klp diff`). A table's entry size is then
// found by which of these shapes the section's size and relocations fit (object/table-layouts.ts).
import { GENERIC_STRUCTS, REF, shape } from "./structs.js";
import type { KnownLayout } from "./types.js";

export const X86_64_STRUCTS: ReadonlyMap<string, readonly KnownLayout[]> = new Map([
  ...GENERIC_STRUCTS,
  ["alt_instr", [
    // 6.1: struct alt_instr { s32 instr_offset; s32 repl_offset; u16 cpuid; u8 instrlen;
    // u8 replacementlen; } __packed;
    shape(12, "before v4.1, and v5.13–v6.2", [["instr_offset", 0, 4, REF], ["repl_offset", 4, 4, REF],
      ["cpuid", 8, 2], ["instrlen", 10, 1], ["replacementlen", 11, 1]]),
    // 4.x–5.12 padded the original instruction with NOPs at build time and recorded how many.
    shape(13, "v4.1–v5.12 (padlen)", [["instr_offset", 0, 4, REF], ["repl_offset", 4, 4, REF],
      ["cpuid", 8, 2], ["instrlen", 10, 1], ["replacementlen", 11, 1], ["padlen", 12, 1]]),
    // 6.3+ (Debian's 6.12): the u16 cpuid became a u32 ft_flags (feature bit and ALT_FLAG_*).
    shape(14, "v6.3 and later (ft_flags)", [["instr_offset", 0, 4, REF], ["repl_offset", 4, 4, REF],
      ["ft_flags", 8, 4], ["instrlen", 12, 1], ["replacementlen", 13, 1]]),
  ]],
  ["exception_table_entry", [
    // Before v4.6: int insn, fixup;
    shape(8, "before v4.6", [["insn", 0, 4, REF], ["fixup", 4, 4, REF]]),
    // v4.6–v5.15: int insn, fixup, handler; (handler: a relocation to ex_handler_*)
    shape(12, "v4.6–v5.15 (handler)", [["insn", 0, 4, REF], ["fixup", 4, 4, REF], ["handler", 8, 4, REF]]),
    // v5.16 and later: int insn, fixup, data; (data: the fixup type and registers, no relocation)
    shape(12, "v5.16 and later (type in data)", [["insn", 0, 4, REF], ["fixup", 4, 4, REF], ["data", 8, 4]]),
  ]],
  ["static_call_site", [
    shape(8, "v5.10 and later", [["addr", 0, 4, REF], ["key", 4, 4, REF]]),
  ]],
  ["paravirt_patch_site", [
    // u8 *instr; u8 type; u8 len; (v4.x also had u16 clobbers after len; same size)
    shape(16, "before v6.8", [["instr", 0, 8, REF], ["type", 8, 1], ["len", 9, 1]]),
  ]],
  ["orc_entry", [
    shape(6, "v4.14 and later", [["sp_offset", 0, 2], ["bp_offset", 2, 2], ["bits", 4, 2]]),
  ]],
]);
