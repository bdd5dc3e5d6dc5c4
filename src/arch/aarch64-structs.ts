// The shapes arm64 kernels gave the structs of their special sections, used only when no target
// kernel tells the engine its layouts (bare `klp diff`). arm64 has no ORC, no paravirt patch
// sites and no inline static calls; its bug_entry and jump_entry are the generic ones.
import { GENERIC_STRUCTS, REF, shape } from "./structs.js";
import type { KnownLayout } from "./types.js";

export const AARCH64_STRUCTS: ReadonlyMap<string, readonly KnownLayout[]> = new Map([
  ...GENERIC_STRUCTS,
  ["alt_instr", [
    // arch/arm64/include/asm/alternative-macros.h: struct alt_instr { s32 orig_offset;
    // s32 alt_offset; u16 cpucap; u8 orig_len; u8 alt_len; }; (cpucap was `cpufeature` before
    // v6.3, same place). An ALTERNATIVE_CB entry's alt_offset names the callback, alt_len 0.
    shape(12, "v4.x and later", [["orig_offset", 0, 4, REF], ["alt_offset", 4, 4, REF],
      ["cpucap", 8, 2], ["orig_len", 10, 1], ["alt_len", 11, 1]]),
  ]],
  ["exception_table_entry", [
    // Before v5.16: int insn, fixup; (fixup: code in .fixup)
    shape(8, "before v5.16", [["insn", 0, 4, REF], ["fixup", 4, 4, REF]]),
    // v5.16 and later: int insn, fixup; short type, data; (uaccess fixups by type, no .fixup)
    shape(12, "v5.16 and later (type, data)", [["insn", 0, 4, REF], ["fixup", 4, 4, REF],
      ["type", 8, 2], ["data", 10, 2]]),
  ]],
]);
