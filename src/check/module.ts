// A livepatch module as `klp check` reads it back: its klp_patch structures, its klp
// relocation sections and symbols (Documentation/livepatch/module-elf-format.rst), the symbols
// it leaves to the module loader, and its modinfo. Plain data; the judging is in check.ts.
import { archFor } from "../arch/index.js";
import * as C from "../elf/constants.js";
import { ElfFile } from "../elf/reader.js";
import { badInput } from "../errors.js";
import { SHF_RELA_LIVEPATCH, SHN_LIVEPATCH } from "../klp/convert.js";
import type { Layouts } from "../object/layouts.js";
import { readObjectOrFail } from "../read.js";
import { parseModinfo } from "../vm/modinfo.js";
import { readKlpPatches, type KlpPatchRead } from "./structs.js";

/** `.klp.sym.<object>.<name>,<sympos>`: a symbol the livepatch core resolves in `object`. */
export interface KlpSymbolRef {
  readonly object: string;
  readonly name: string;
  readonly sympos: number;
}

/** One `.klp.rela.<object>.<section>` section and the klp symbols its relocations use. */
export interface KlpRelaSection {
  readonly section: string;
  /** The section its relocations apply to (sh_info): `.text.smb2_add_credits`, `__jump_table`. */
  readonly target: string;
  readonly object: string;
  readonly symbols: readonly KlpSymbolRef[];
  /** The section has SHF_RELA_LIVEPATCH, without which the loader treats it as ordinary. */
  readonly flagged: boolean;
  /** Symbols its relocations use that are not SHN_LIVEPATCH klp symbols (the kernel refuses). */
  readonly foreign: readonly string[];
}

export interface LivepatchModule {
  readonly file: string;
  /** The module's ELF, for its DWARF (the replacements' signatures). */
  readonly elf: ElfFile;
  readonly name: string;
  /** `livepatch=Y` in .modinfo (MODULE_INFO(livepatch, "Y")). */
  readonly livepatch: boolean;
  readonly vermagic: string | undefined;
  readonly patches: readonly KlpPatchRead[];
  readonly klpRela: readonly KlpRelaSection[];
  /** Every `.klp.sym.*` symbol, and those whose name does not parse. */
  readonly klpSymbols: readonly KlpSymbolRef[];
  readonly badKlpSymbols: readonly string[];
  /** Undefined symbols the module loader must resolve (through exports). */
  readonly undefinedSymbols: readonly string[];
  /** Symbol namespaces the module imports (`import_ns=` in .modinfo, from MODULE_IMPORT_NS). */
  readonly importNamespaces: readonly string[];
}

const KLP_SYM = /^\.klp\.sym\.([^.]+)\.(.+),(\d+)$/;

export function parseKlpSymbol(name: string): KlpSymbolRef | undefined {
  const m = KLP_SYM.exec(name);
  return m ? { object: m[1]!, name: m[2]!, sympos: Number(m[3]) } : undefined;
}

/** `.klp.rela.vmlinux..text.foo` → vmlinux; module names never hold a dot (kbuild turns - into _). */
function relaObject(section: string): string | undefined {
  return /^\.klp\.rela\.([^.]+)\./.exec(section)?.[1];
}

/** A kernel module file, opened and checked to be one (before any target work is done). */
export interface ModuleFile {
  readonly file: string;
  readonly elf: ElfFile;
  readonly pointerSize: number;
  readonly modinfo: ReadonlyMap<string, readonly string[]>;
}

export function openModule(file: string): ModuleFile {
  const { buf, unread } = readObjectOrFail(file);
  const elf = ElfFile.parse(file, buf, unread);
  if (elf.type !== C.ET_REL) throw badInput(file, `not a kernel module (ELF type ${elf.type}; a .ko is a relocatable object)`);
  const arch = archFor(elf.machine);
  if (!arch) throw badInput(file, `unsupported machine (e_machine ${elf.machine})`);
  const modinfoSec = elf.sections.find((s) => s.name === ".modinfo");
  if (!modinfoSec || !elf.sections.some((s) => s.name === ".gnu.linkonce.this_module")) {
    throw badInput(file, "not a kernel module (no .modinfo or .gnu.linkonce.this_module section)");
  }
  return { file, elf, pointerSize: arch.pointerSize, modinfo: parseModinfo(elf.data(modinfoSec.index)) };
}

export function readLivepatchModule(mf: ModuleFile, layouts: Layouts): LivepatchModule {
  const { file, elf, modinfo: info } = mf;
  const patches = readKlpPatches(elf, layouts, mf.pointerSize);
  if (!patches.length) {
    throw badInput(file, "no static struct klp_patch found (no data with .mod = THIS_MODULE and .objs); "
      + "klp check reads livepatches that declare klp_patch/klp_object/klp_func statically");
  }
  const klpSymbols: KlpSymbolRef[] = [];
  const badKlpSymbols: string[] = [];
  const undefinedSymbols: string[] = [];
  for (const s of elf.symbols) {
    if (s.index === 0 || !s.name) continue;
    if (s.shndx === SHN_LIVEPATCH || s.name.startsWith(".klp.sym.")) {
      const k = parseKlpSymbol(s.name);
      if (k && s.shndx === SHN_LIVEPATCH) klpSymbols.push(k); else badKlpSymbols.push(s.name);
    } else if (s.shndx === C.SHN_UNDEF) undefinedSymbols.push(s.name);
  }
  const klpRela: KlpRelaSection[] = [];
  for (const { rela, target } of elf.relaSections()) {
    if (!rela.name.startsWith(".klp.rela.")) continue;
    const object = relaObject(rela.name);
    if (!object) throw badInput(file, `klp relocation section ${rela.name} names no object`);
    const used = new Map<string, KlpSymbolRef>();
    const foreign = new Set<string>();
    for (const r of elf.readRela(rela)) {
      const sym = elf.symbols[r.symbol]!;
      const k = sym.shndx === SHN_LIVEPATCH ? parseKlpSymbol(sym.name) : undefined;
      if (k) used.set(sym.name, k); else foreign.add(sym.name || `symbol ${sym.index}`);
    }
    klpRela.push({ section: rela.name, target: target.name, object, symbols: [...used.values()], flagged: (rela.flags & SHF_RELA_LIVEPATCH) !== 0, foreign: [...foreign] });
  }
  return {
    file, elf, name: (info.get("name")?.[0] ?? "").replace(/-/g, "_"),
    livepatch: info.get("livepatch")?.[0] === "Y", vermagic: info.get("vermagic")?.[0],
    patches, klpRela, klpSymbols, badKlpSymbols, undefinedSymbols, importNamespaces: info.get("import_ns") ?? [],
  };
}
