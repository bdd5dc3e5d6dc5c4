// Which symbols an object exports, and how, in each form EXPORT_SYMBOL has taken on x86-64:
//   6.5+     `.export_symbol`: `__export_symbol_<name>:` then the license ("GPL" or "") and the
//            namespace as strings, then a pointer to the symbol; modpost builds the ksymtab.
//   4.3–6.4  one section per export, `___ksymtab<kind>+<name>`, holding `__ksymtab_<name>`.
//   before   shared sections `__ksymtab<kind>` holding every `__ksymtab_<name>` of the object.
import * as C from "../elf/constants.js";
import type { ElfFile } from "../elf/reader.js";

const PER_EXPORT_SECTION = /^___ksymtab(_gpl|_unused|_unused_gpl|_gpl_future)?\+(.+)$/;
const SHARED_SECTION = /^__ksymtab(_gpl|_unused|_unused_gpl|_gpl_future)?$/;
const KSYMTAB_SYMBOL = "__ksymtab_";
const EXPORT_SYMBOL_LABEL = "__export_symbol_";

const kindOf = (suffix: string | undefined) => `EXPORT_SYMBOL${(suffix ?? "").toUpperCase()}`;

/** Exported name → how it is exported (`EXPORT_SYMBOL_GPL`, `EXPORT_SYMBOL_NS(ns)` …). */
export function exportsOf(elf: ElfFile): Map<string, string> {
  const out = new Map<string, string>();
  const shared = new Map<number, string>();
  let exportSymbol = -1;
  for (let i = 0; i < elf.sections.length; i++) {
    const s = elf.sections[i]!;
    if (s.name === ".export_symbol" && s.type !== C.SHT_NOBITS) exportSymbol = s.index;
    if (!s.name.startsWith("__")) continue; // both ksymtab forms; not the .text.* of every function
    const m = PER_EXPORT_SECTION.exec(s.name);
    if (m) out.set(m[2]!, kindOf(m[1]));
    const sh = SHARED_SECTION.exec(s.name);
    if (sh) shared.set(s.index, kindOf(sh[1]));
  }
  if (!shared.size && exportSymbol < 0) return out;
  const symbols = elf.symbols;
  for (let i = 0; i < symbols.length; i++) {
    const sym = symbols[i]!;
    const kind = shared.get(sym.shndx);
    if (kind && sym.name.startsWith(KSYMTAB_SYMBOL)) out.set(sym.name.slice(KSYMTAB_SYMBOL.length), kind);
    if (sym.shndx === exportSymbol && sym.name.startsWith(EXPORT_SYMBOL_LABEL)) {
      out.set(sym.name.slice(EXPORT_SYMBOL_LABEL.length), exportSymbolKind(elf.data(exportSymbol), sym.value));
    }
  }
  return out;
}

/** `EXPORT_SYMBOL[_NS][_GPL]` from the license and namespace strings after the label. */
function exportSymbolKind(data: Buffer, at: number): string {
  const string = (from: number) => {
    const end = data.indexOf(0, from);
    return end < 0 ? "" : data.toString("latin1", from, end);
  };
  const license = string(at);
  const ns = string(at + license.length + 1);
  return `EXPORT_SYMBOL${ns ? "_NS" : ""}${license === "GPL" ? "_GPL" : license ? `(${license})` : ""}${ns ? `(${ns})` : ""}`;
}
