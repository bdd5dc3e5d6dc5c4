// The target's module tree: modules.dep (every module's file and the closure of what it needs)
// and modules.builtin (names that need no loading), from the kernel's modules directory; and
// the target's symbols, which include the modules' own symbol tables.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";
import { moduleName } from "../vm/modinfo.js";
import { moduleBytes, type KernelModule, type ModuleIndex, type SoftDeps } from "../vm/modules.js";
import { kallsymsText } from "./kallsyms.js";
import { moduleSymbols, parseKallsyms, parseModuleSymvers, type KernelView, type SymbolTable } from "./symbols.js";
import type { Target } from "./target.js";

/** Parses `dir`/modules.dep (and modules.builtin, to explain names that need no loading). */
export function readModuleIndex(kernel: string, dir: string): ModuleIndex {
  const depFile = path.join(dir, "modules.dep");
  if (!fs.existsSync(depFile)) throw badInput(depFile, `no modules.dep for kernel ${kernel}`);
  const modules = new Map<string, KernelModule>();
  for (const line of fs.readFileSync(depFile, "utf8").split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const file = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== "").map(moduleName);
    const name = moduleName(file);
    if (!modules.has(name)) modules.set(name, { name, path: path.isAbsolute(file) ? file : path.join(dir, file), deps });
  }
  const builtin = new Set<string>();
  const builtinFile = path.join(dir, "modules.builtin");
  if (fs.existsSync(builtinFile)) {
    for (const line of fs.readFileSync(builtinFile, "utf8").split("\n")) if (line.trim()) builtin.add(moduleName(line.trim()));
  }
  return { kernel, dir, modules, builtin, softdeps: readSoftDeps(dir), aliases: readAliases(dir) };
}

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : []);

/** modules.softdep: `softdep libcrc32c pre: crc32c` (depmod's collection of MODULE_SOFTDEP). */
function readSoftDeps(dir: string): Map<string, SoftDeps> {
  const out = new Map<string, { pre: string[]; post: string[] }>();
  for (const line of lines(path.join(dir, "modules.softdep"))) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "softdep" || !words[1]) continue;
    const entry = out.get(moduleName(words[1])) ?? { pre: [], post: [] };
    let list: string[] | undefined;
    for (const w of words.slice(2)) {
      if (w === "pre:") list = entry.pre;
      else if (w === "post:") list = entry.post;
      else list?.push(w); // words before any pre:/post: are not a soft dependency modprobe follows
    }
    out.set(moduleName(words[1]), entry);
  }
  return out;
}

/** Plain aliases of modules.alias (device-match patterns with wildcards are left out). */
function readAliases(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines(path.join(dir, "modules.alias"))) {
    const m = /^alias (\S+) (\S+)$/.exec(line);
    if (!m || /[*?[]/.test(m[1]!)) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(moduleName(m[2]!));
    out.set(m[1]!, list);
  }
  return out;
}

export function targetModules(t: Target): ModuleIndex {
  return readModuleIndex(t.release, t.files.modulesDir);
}

/** The file of module `name` of the target; bad input when the kernel has no such module. */
export function moduleFile(index: ModuleIndex, name: string): string {
  const m = index.modules.get(name);
  if (!m) throw badInput(path.join(index.dir, "modules.dep"), `module ${name} is not in ${index.kernel}`);
  return m.path;
}

/** The target's symbols: kallsyms for vmlinux, Module.symvers for exports, .ko symbol tables on demand. */
export function kernelSymbols(t: Target, log: (s: string) => void): KernelView {
  const ks = kallsymsText(t, log);
  const tables = new Map<string, SymbolTable>();
  let index: ModuleIndex | undefined;
  return {
    vmlinux: parseKallsyms(ks.file, ks.text),
    exports: parseModuleSymvers(t.files.symvers, fs.readFileSync(t.files.symvers, "latin1")),
    moduleTable(name) {
      let table = tables.get(name);
      if (table) return table;
      index ??= targetModules(t);
      const file = moduleFile(index, name);
      table = moduleSymbols(file, moduleBytes(file));
      tables.set(name, table);
      return table;
    },
  };
}
