// The target kernel's symbols: kallsyms order for vmlinux (a real System.map, or a
// /proc/kallsyms dump from booting the kernel), exports from Module.symvers, and module
// symbol tables from the .ko files. Livepatch `sympos` counts same-named symbols in exactly
// this order (kernel/livepatch/core.c: klp_find_object_symbol → kallsyms_on_each_symbol).
import { STT_FILE, SHN_UNDEF } from "../elf/constants.js";
import { ElfFile } from "../elf/reader.js";
import { badInput } from "../errors.js";

export interface KernelSymbol {
  readonly name: string;
  readonly address: number;
  /** nm-style type letter: t/T text, d/D data, b/B bss, r/R rodata. */
  readonly type: string;
  /** For module symbol tables: the STT_FILE the symbol follows. */
  readonly file?: string;
  /**
   * For module symbol tables: the section index, since a .ko's addresses are offsets in their
   * section and only compare within one.
   */
  readonly section?: number;
}

export interface SymbolTable {
  /** All symbols in kallsyms order. */
  readonly symbols: readonly KernelSymbol[];
  /** Same-named symbols, in kallsyms order. */
  readonly byName: ReadonlyMap<string, readonly KernelSymbol[]>;
}

function indexByName(symbols: KernelSymbol[]): SymbolTable {
  const byName = new Map<string, KernelSymbol[]>();
  for (const s of symbols) {
    const list = byName.get(s.name);
    if (list) list.push(s); else byName.set(s.name, [s]);
  }
  return { symbols, byName };
}

/** Parses System.map or /proc/kallsyms text (`address type name [module]`); vmlinux lines only. */
export function parseKallsyms(file: string, text: string): SymbolTable {
  const symbols: KernelSymbol[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const m = /^([0-9a-fA-F]+) (\S) (\S+)(\s+\[(\S+)\])?/.exec(line);
    if (!m) throw badInput(file, `not a System.map/kallsyms line: ${line.slice(0, 60)}`);
    if (m[5]) continue; // a module's symbol
    symbols.push({ address: parseInt(m[1]!.slice(-12), 16), type: m[2]!, name: m[3]! });
  }
  if (symbols.length < 1000) throw badInput(file, `only ${symbols.length} symbols: not a kernel symbol map`);
  return indexByName(symbols);
}

export interface Export {
  readonly name: string;
  readonly module: string;
  readonly kind: string;
  /** EXPORT_SYMBOL_NS: a module that uses it must import the namespace (MODULE_IMPORT_NS). */
  readonly namespace?: string;
}

/** Module.symvers: `crc\tname\tmodule\tEXPORT_SYMBOL[_GPL]\tnamespace`. */
export function parseModuleSymvers(file: string, text: string): ReadonlyMap<string, Export> {
  const out = new Map<string, Export>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [, name, module, kind, namespace] = line.split("\t");
    if (!name || !module || !kind) throw badInput(file, `not a Module.symvers line: ${line.slice(0, 60)}`);
    out.set(name, { name, module: module.replace(/^.*\//, "").replace(/-/g, "_"), kind, ...(namespace ? { namespace } : {}) });
  }
  return out;
}

/** A module's symbol table in file order (kallsyms order for a module), with each symbol's source file. */
export function moduleSymbols(koPath: string, data: Buffer): SymbolTable {
  const elf = ElfFile.parse(koPath, data);
  const symbols: KernelSymbol[] = [];
  let file: string | undefined;
  for (const s of elf.symbols) {
    if (s.type === STT_FILE) { file = s.name; continue; }
    if (!s.name || s.shndx === SHN_UNDEF) continue;
    symbols.push({ name: s.name, address: s.value, type: s.type === 2 ? "t" : "d", section: s.shndx, ...(file ? { file } : {}) });
  }
  return indexByName(symbols);
}

/**
 * Which of same-named `copies` (in vmlinux or one module) belongs to an object, judged by its
 * `anchors` (symbols of that object whose names are unique in the table): vmlinux and a module
 * are both linked object by object, so the copy nearest an anchor is the object's. In a module,
 * addresses are offsets in a section and compare only within one. hci_uart.ko holds two static
 * hci_uart_close (hci_ldisc.o, hci_serdev.o) and, as Debian ships it, no STT_FILE symbols.
 */
export function nearestCopy(copies: readonly KernelSymbol[], anchors: readonly KernelSymbol[]):
  { readonly copy: KernelSymbol } | { readonly why: "no-anchor" | "tie" } {
  const distance = (c: KernelSymbol) =>
    Math.min(...anchors.filter((a) => a.section === c.section).map((a) => Math.abs(a.address - c.address)));
  const scored = copies.map((c) => ({ c, d: distance(c) })).sort((a, b) => a.d - b.d);
  if (!scored.length || scored[0]!.d === Infinity) return { why: "no-anchor" };
  if (scored.length > 1 && scored[0]!.d === scored[1]!.d) return { why: "tie" };
  return { copy: scored[0]!.c };
}

/** What klp needs to know about the target's symbols, loaded once per build. */
export interface KernelView {
  readonly vmlinux: SymbolTable;
  readonly exports: ReadonlyMap<string, Export>;
  moduleTable(name: string): SymbolTable;
}
