// The layouts of the structs behind the special sections, learned from the target itself: a probe
// file per struct is compiled in the prepared tree (with the tree's own flags and -g) and pahole
// reads the struct from its DWARF. 6.1 has a 12-byte `struct alt_instr` with a u16 cpuid, 6.12 a
// 14-byte one with a u32 ft_flags; nothing here knows that. A struct the kernel lacks (6.12 has no
// paravirt_patch_site) is simply absent from the result.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import type { FieldLayout, Layouts, StructLayout } from "../object/layouts.js";
import { writeCacheFile } from "./cache.js";

/** Each struct and the header that defines it, as the kernel's own code includes it. */
const PROBES: readonly (readonly [string, string])[] = [
  ["alt_instr", "asm/alternative.h"],
  ["bug_entry", "asm/bug.h"],
  ["exception_table_entry", "asm/extable.h"],
  ["jump_entry", "linux/jump_label.h"],
  ["static_call_site", "linux/static_call_types.h"],
  ["orc_entry", "asm/orc_types.h"],
  ["paravirt_patch_site", "asm/paravirt_types.h"],
  ["pi_entry", "linux/printk.h"],
  ["_ddebug", "linux/dynamic_debug.h"],
  ["kernel_symbol", "linux/export.h"],
  // What `klp check` walks in a livepatch module: klp_patch → objs[] → funcs[].
  ["klp_patch", "linux/livepatch.h"],
  ["klp_object", "linux/livepatch.h"],
  ["klp_func", "linux/livepatch.h"],
];

/** The cache key names the probes too: a tree probed before a struct was added probes again. */
const PROBE_SET = PROBES.map(([n]) => n).join(",");

/**
 * One member line of pahole's output: `s32 instr_offset; /* 0 4 *\/`, a bitfield
 * `u32 cpuid:16; /* 8: 0 4 *\/`, or the end of a nested union `} key; /* 40 16 *\/`.
 */
const MEMBER = /(\w+)(?:\[\d*\])*(?::(\d+))?;\s*\/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*\//;
const SIZE = /\/\* size: (\d+),/;

/** The layout pahole prints for one struct (`pahole -C NAME obj`). */
export function parsePahole(text: string): StructLayout | undefined {
  const size = SIZE.exec(text);
  if (!size) return undefined;
  const fields = new Map<string, FieldLayout>();
  for (const line of text.split("\n")) {
    const m = MEMBER.exec(line);
    if (!m) continue;
    const [, name, bits, offset, bitOffset, unit] = m;
    // A bitfield of whole, aligned bytes (6.12's `cpuid:16` inside ft_flags) is a field of its
    // own; a smaller one (orc_entry's `sp_reg:4`) is known by its storage unit, as pahole shows it.
    const whole = bits !== undefined && Number(bits) % 8 === 0 && Number(bitOffset ?? 0) % 8 === 0;
    const field: FieldLayout = whole
      ? { offset: Number(offset) + Number(bitOffset ?? 0) / 8, size: Number(bits) / 8 }
      : { offset: Number(offset), size: Number(unit) };
    if (!fields.has(name!)) fields.set(name!, field);
  }
  return { size: Number(size[1]), fields };
}

function toJson(l: Layouts): string {
  return JSON.stringify(Object.fromEntries([...l].map(([k, v]) => [k, { size: v.size, fields: Object.fromEntries(v.fields) }])), null, 1);
}

function fromJson(text: string): Layouts {
  const raw = JSON.parse(text) as Record<string, { size: number; fields: Record<string, FieldLayout> }>;
  return new Map(Object.entries(raw).map(([k, v]) => [k, { size: v.size, fields: new Map(Object.entries(v.fields)) }]));
}

/**
 * Layouts of `tree`'s kernel, probed once and cached in `cacheFile` (with `key` naming the
 * tree's inputs). `makeVars` are the kernel's own (CC=gcc-12 …).
 */
export function probeLayouts(tree: string, makeVars: readonly string[], cacheFile: string, key: string): Layouts {
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key: string; layouts: string };
    if (cached.key === `${key}\n${PROBE_SET}`) return fromJson(cached.layouts);
  } catch { /* not probed yet */ }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-layouts-"));
  try {
    for (const [name, header] of PROBES) {
      // <linux/module.h> first, as module code includes it: asm/extable.h alone misses cpu_relax()
      // when the config has no X86_MCE (Debian's cloud flavour).
      fs.writeFileSync(path.join(dir, `probe_${name}.c`), `#include <linux/module.h>\n#include <${header}>\nstruct ${name} klp_probe_${name};\n`);
    }
    fs.writeFileSync(path.join(dir, "Kbuild"), "ccflags-y += -g\n");
    // -k: a struct this kernel lacks fails to compile alone; the others are still built.
    spawnSync("make", ["-s", "-k", "-C", tree, `M=${dir}`, ...makeVars, ...PROBES.map(([n]) => `probe_${n}.o`)], { encoding: "utf8", maxBuffer: 16 << 20 });
    const layouts = new Map<string, StructLayout>();
    for (const [name] of PROBES) {
      const obj = path.join(dir, `probe_${name}.o`);
      if (!fs.existsSync(obj)) continue;
      const r = spawnSync("pahole", ["-C", name, obj], { encoding: "utf8" });
      if (r.error) throw new KlpError(ExitCode.badInput, "pahole is not installed (package dwarves); klpkit learns the kernel's table layouts with it");
      const l = parsePahole(r.stdout ?? "");
      if (l) layouts.set(name, l);
    }
    for (const need of ["alt_instr", "bug_entry", "exception_table_entry", "jump_entry"]) {
      if (!layouts.has(need)) throw new KlpError(ExitCode.badInput, `could not learn struct ${need} of the kernel in ${tree} (probe compile or pahole failed)`);
    }
    writeCacheFile(cacheFile, JSON.stringify({ key: `${key}\n${PROBE_SET}`, layouts: toJson(layouts) }));
    return layouts;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
