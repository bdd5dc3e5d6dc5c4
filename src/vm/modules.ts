// The target kernel's own modules as the VM needs them: an index of name → file and
// dependencies (read by src/target/modules.ts from the kernel's modules.dep), load order
// (dependencies first), and the bytes to put into the VM (compressed modules are unpacked on
// the host, so busybox insmod can load them).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { badInput } from "../errors.js";
import { moduleName, readModuleInfo } from "./modinfo.js";

export interface KernelModule {
  readonly name: string;
  /** Absolute path of the module file (may be .ko.xz/.ko.zst/.ko.gz). */
  readonly path: string;
  /** Names of every module it needs (modules.dep lists the whole closure). */
  readonly deps: readonly string[];
}

/** modules.softdep: what modprobe loads before (`pre:`) and after (`post:`) a module. */
export interface SoftDeps {
  readonly pre: readonly string[];
  readonly post: readonly string[];
}

export interface ModuleIndex {
  readonly kernel: string;
  readonly dir: string;
  readonly modules: ReadonlyMap<string, KernelModule>;
  readonly builtin: ReadonlySet<string>;
  readonly softdeps: ReadonlyMap<string, SoftDeps>;
  /** Plain aliases (modules.alias without wildcards): `crc32c` → crc32c_intel, crc32c_generic. */
  readonly aliases: ReadonlyMap<string, readonly string[]>;
}

/** A module the VM loads: from the kernel's tree, or a .ko file named on the command line. */
export interface LoadModule {
  readonly name: string;
  readonly path: string;
  /** Why it is loaded: the name asked for, or "dependency of X". */
  readonly reason: string;
  /**
   * A soft dependency: the VM goes on when it cannot be loaded, as modprobe does. Under TCG the
   * crc32c alias's crc32c_intel fails with ENODEV (no SSE4.2), and crc32c_generic serves.
   */
  readonly optional?: boolean;
  /** Given as a .ko file on the command line (an earlier livepatch, say), not a module of the tree. */
  readonly fromFile?: boolean;
}

function isFileArg(arg: string): boolean {
  return arg.includes("/") || /\.ko(\.(xz|zst|gz))?$/.test(arg);
}

/**
 * Load order for `wanted` (module names, `-` or `_`, or paths of .ko files): every module
 * after all of its dependencies, each once. `already` names modules loaded earlier (skipped).
 * `option` names the command-line option in error messages.
 */
export function resolveLoadOrder(index: ModuleIndex, wanted: readonly string[], option: string, already: ReadonlySet<string> = new Set()): LoadModule[] {
  const out: LoadModule[] = [];
  const seen = new Set(already);
  const lookup = (name: string, asked: string): KernelModule => {
    const m = index.modules.get(name);
    if (m) return m;
    if (index.builtin.has(name)) throw badInput(undefined, `${option} ${asked}: built into kernel ${index.kernel}, there is no module to load`);
    throw badInput(undefined, `${option} ${asked}: no module named ${name} in ${path.join(index.dir, "modules.dep")}`);
  };
  /**
   * A soft dependency names a module or an alias (libcrc32c: `pre: crc32c`, which crc32c_intel
   * and crc32c_generic provide); modprobe loads what it can and goes on, so every provider is
   * tried, each optional.
   */
  const soft = (dep: string): KernelModule[] => {
    const name = moduleName(dep);
    if (index.builtin.has(name)) return [];
    const byName = index.modules.get(name);
    if (byName) return [byName];
    return (index.aliases.get(dep) ?? []).flatMap((a) => index.modules.get(a) ?? []);
  };
  const visitSoft = (deps: readonly string[], of: string, asked: string): void => {
    for (const m of deps.flatMap(soft)) {
      if (!seen.has(m.name)) visit(m.name, m.path, m.deps, `soft dependency of ${of}`, asked, true);
    }
  };
  const visit = (name: string, file: string, deps: readonly string[], reason: string, asked: string, optional = false, fromFile = false): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const sd = index.softdeps.get(name);
    visitSoft(sd?.pre ?? [], name, asked);
    for (const d of deps) {
      if (seen.has(d) || index.builtin.has(d)) continue;
      const dm = lookup(d, asked);
      visit(dm.name, dm.path, dm.deps, `dependency of ${name}`, asked);
    }
    out.push({ name, path: file, reason, ...(optional ? { optional } : {}), ...(fromFile ? { fromFile } : {}) });
    visitSoft(sd?.post ?? [], name, asked);
  };
  for (const arg of wanted) {
    if (isFileArg(arg)) {
      const file = path.resolve(arg);
      if (!fs.existsSync(file)) throw badInput(arg, `${option}: no such module file`);
      const info = readModuleInfo(file);
      visit(info.name, file, info.depends, arg, arg, false, true);
    } else {
      const m = lookup(moduleName(arg), arg);
      visit(m.name, m.path, m.deps, arg, arg);
    }
  }
  return out;
}

/** The module's ELF bytes, decompressing .ko.gz/.ko.xz/.ko.zst. */
export function moduleBytes(file: string): Buffer {
  const data = fs.readFileSync(file);
  if (file.endsWith(".gz")) return zlib.gunzipSync(data);
  const tool = file.endsWith(".xz") ? "xz" : file.endsWith(".zst") ? "zstd" : undefined;
  if (!tool) return data;
  const r = spawnSync(tool, ["-dc"], { input: data, maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) {
    const why = r.error ? `${tool} is not available (${(r.error as NodeJS.ErrnoException).code})` : `${tool} -dc failed: ${r.stderr.toString().trim()}`;
    throw badInput(file, `cannot decompress the module: ${why}`);
  }
  return r.stdout;
}
