// What a kernel module file says about itself: its name (the livepatch's sysfs directory is
// named after it), whether it is a livepatch, the kernel it was built for and its
// dependencies. Read from `.modinfo`, with `.gnu.linkonce.this_module` and the file name as
// fallbacks for the name.
import fs from "node:fs";
import path from "node:path";
import { ET_REL, ElfFile } from "../elf/index.js";
import { badInput } from "../errors.js";

export interface ModuleInfo {
  readonly file: string;
  /** Module name as the kernel knows it (`-` already turned into `_`). */
  readonly name: string;
  /** `livepatch=Y` in .modinfo. */
  readonly livepatch: boolean;
  /** Kernel release from `vermagic=` (its first word), when present. */
  readonly release?: string;
  /** `depends=`: module names this one needs loaded first. */
  readonly depends: readonly string[];
}

/** Kernel module name of a file name or module argument: no directory, no `.ko[.xz|.zst|.gz]`, `-` → `_`. */
export function moduleName(s: string): string {
  return path.basename(s).replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

/** `key=value` pairs of a `.modinfo` section (NUL-separated strings). */
export function parseModinfo(data: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of data.toString("latin1").split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const list = out.get(key) ?? [];
    list.push(entry.slice(eq + 1));
    out.set(key, list);
  }
  return out;
}

/** Offset of `name[]` in x86-64 `struct module`: after `enum module_state` (padded) and a list_head. */
const THIS_MODULE_NAME_OFFSET = 24;
const MODULE_NAME_LEN = 56;

/** Reads an (uncompressed) `.ko`; bad input when it is missing or not a kernel module. */
export function readModuleInfo(file: string): ModuleInfo {
  let buf: Buffer;
  try {
    if (!fs.statSync(file).isFile()) throw badInput(file, "not a regular file");
    buf = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw badInput(file, "no such file");
    if ((e as NodeJS.ErrnoException).code) throw badInput(file, `cannot read: ${(e as Error).message}`);
    throw e;
  }
  const elf = ElfFile.parse(file, buf);
  if (elf.type !== ET_REL) throw badInput(file, `not a kernel module (ELF type ${elf.type}, a .ko is a relocatable object)`);
  const modinfoSec = elf.sections.find((s) => s.name === ".modinfo");
  const thisModule = elf.sections.find((s) => s.name === ".gnu.linkonce.this_module");
  if (!modinfoSec && !thisModule) throw badInput(file, "not a kernel module (no .modinfo or .gnu.linkonce.this_module section)");
  const info = modinfoSec ? parseModinfo(elf.data(modinfoSec.index)) : new Map<string, string[]>();
  let name = info.get("name")?.[0];
  if (!name && thisModule && thisModule.size >= THIS_MODULE_NAME_OFFSET + MODULE_NAME_LEN) {
    const raw = elf.data(thisModule.index).subarray(THIS_MODULE_NAME_OFFSET, THIS_MODULE_NAME_OFFSET + MODULE_NAME_LEN);
    const end = raw.indexOf(0);
    name = raw.subarray(0, end < 0 ? raw.length : end).toString("latin1") || undefined;
  }
  const vermagic = info.get("vermagic")?.[0];
  const release = vermagic?.trim().split(/\s+/)[0];
  return {
    file,
    name: moduleName(name ?? file),
    livepatch: info.get("livepatch")?.[0] === "Y",
    ...(release ? { release } : {}),
    depends: (info.get("depends")?.[0] ?? "").split(",").filter((d) => d !== "").map(moduleName),
  };
}
