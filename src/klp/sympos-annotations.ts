// The `.klpkit.sympos` records of include/linux/klpkit.h's KLPKIT_SYMPOS: which of several
// same-named target symbols a hand-made livepatch means. Each record is one NUL-terminated
// string "symbol object pos:N" (`load_elf_binary vmlinux pos:2`); gcc may pad
// between them (an array of 32 bytes or more is 32-byte aligned on x86-64), so empty strings
// between records are padding.
import { badInput } from "../errors.js";
import type { ElfFile } from "../elf/reader.js";

export const SYMPOS_SECTION = ".klpkit.sympos";

export interface SymposChoice {
  readonly symbol: string;
  readonly object: string;
  readonly pos: number;
}

const RECORD = /^(\S+) (\S+) pos:(\d+)$/;

function parseRecord(file: string, text: string): SymposChoice {
  const m = RECORD.exec(text);
  if (!m) throw badInput(file, `${SYMPOS_SECTION}: '${text}' is not a KLPKIT_SYMPOS(symbol, object, position) record`);
  return { symbol: m[1]!, object: m[2]!, pos: Number(m[3]) };
}

/** Every choice the module records, one per symbol name (two for one name are bad input). */
export function readSymposChoices(elf: ElfFile, file: string): ReadonlyMap<string, SymposChoice> {
  const out = new Map<string, SymposChoice>();
  for (const sec of elf.sections.filter((s) => s.name === SYMPOS_SECTION)) {
    for (const text of elf.data(sec.index).toString("latin1").split("\0")) {
      if (!text) continue;
      const c = parseRecord(file, text);
      if (out.has(c.symbol)) throw badInput(file, `${SYMPOS_SECTION}: two annotations for ${c.symbol}; keep one`);
      out.set(c.symbol, c);
    }
  }
  return out;
}
