// Static call keys for kernels whose objtool runs when the module is linked, not per object
// (6.12 on x86 with IBT: scripts/Makefile.lib delays objtool to vmlinux.o and to each module's
// linked .o). Such an object calls `__SCT__tp_func_task_rename` but has no .static_call_sites;
// objtool writes the site when the livepatch module is linked, naming the key `__SCK__…` only if
// the module's object has that symbol. Without it, objtool names the trampoline, and the kernel
// refuses a trampoline that is not exported ("Failed to fixup __raw_static_call() usage"). So the
// key is made visible to objtool by a reference from a section the final link discards; the site
// objtool writes then points at the key, which resolves as an export or a klp relocation (applied
// while the livepatch loads, before its static call sites are read).
import { SHN_UNDEF, SHT_PROGBITS, SHT_RELA, SHF_INFO_LINK, STB_GLOBAL, STT_NOTYPE, RELA_SIZE } from "../elf/constants.js";
import type { OutObject, OutSymbol } from "../elf/model.js";

const TRAMP_PREFIX = "__SCT__";
const KEY_PREFIX = "__SCK__";
/** Discarded by every module's final link (scripts/module.lds: /DISCARD/ : { *(.discard.*) }). */
const SECTION = ".discard.klpkit.static_call_keys";

/** True when objtool has already written this object's static call sites. */
export function hasStaticCallSites(obj: OutObject): boolean {
  return obj.sections.some((s) => s.name === ".static_call_sites");
}

/**
 * Adds a reference to `__SCK__<name>` for every `__SCT__<name>` the carried code calls, unless
 * the object already has its sites; returns the keys added (undefined symbols of the object).
 */
export function exposeStaticCallKeys(obj: OutObject, abs64: number): string[] {
  if (hasStaticCallSites(obj)) return [];
  const undefinedByName = new Map(obj.symbols.filter((s) => !s.section && s.shndx === SHN_UNDEF).map((s) => [s.name, s] as const));
  const keys = [...undefinedByName.keys()].filter((n) => n.startsWith(TRAMP_PREFIX)).map((n) => KEY_PREFIX + n.slice(TRAMP_PREFIX.length)).sort();
  if (!keys.length) return [];
  const symbols: OutSymbol[] = keys.map((k) => {
    let s = undefinedByName.get(k);
    if (!s) {
      s = { name: k, value: 0, size: 0, bind: STB_GLOBAL, type: STT_NOTYPE, other: 0, shndx: SHN_UNDEF };
      obj.symbols.push(s);
    }
    return s;
  });
  const section = { name: SECTION, type: SHT_PROGBITS, flags: 0, addralign: 8, entsize: 8, data: new Uint8Array(8 * keys.length) };
  obj.sections.push(section, {
    name: `.rela${SECTION}`, type: SHT_RELA, flags: SHF_INFO_LINK, addralign: 8, entsize: RELA_SIZE,
    relocs: { target: section, entries: symbols.map((symbol, i) => ({ offset: 8 * i, symbol, type: abs64, addend: 0 })) },
  });
  return keys;
}
