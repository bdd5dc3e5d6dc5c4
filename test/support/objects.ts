// Reading objects with binutils, independently of src/elf: symbols, relocations, and the entries
// of special tables described by what they point at (fixtures.test.ts, arm64.test.ts).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import * as E from "./elf64.js";

export function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export interface Sym { name: string; type: string; value: number; size: number; section: string }

/** Symbols of an object from `readelf -sW`, with section names for st_shndx. */
export function symbols(file: string): Sym[] {
  const names = new Map<string, string>();
  for (const line of run("readelf", ["-SW", file]).stdout.split("\n")) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)/.exec(line);
    if (m) names.set(m[1]!, m[2]!);
  }
  const syms: Sym[] = [];
  for (const line of run("readelf", ["-sW", file]).stdout.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d+:$/.test(f[0]!)) continue;
    syms.push({ name: f[7]!, type: f[3]!, value: parseInt(f[1]!, 16), size: Number(f[2]), section: names.get(f[6]!) ?? f[6]! });
  }
  return syms;
}

/**
 * Relocations of each section (by index) from `readelf -rW`: offset, target symbol or section,
 * addend. A relocation section is told from its namesakes by its file offset (clang-16 emits one
 * `__patchable_function_entries` per function), which support/elf64 maps to the section it applies to.
 */
export function relocations(file: string): Map<number, { offset: number; target: string; addend: number }[]> {
  const bySection = new Map<number, { offset: number; target: string; addend: number }[]>();
  const targetAt = new Map(E.sections(fs.readFileSync(file)).filter((x) => x.type === E.SHT_RELA).map((x) => [x.offset, x.info] as const));
  let current: { offset: number; target: string; addend: number }[] | null = null;
  for (const line of run("readelf", ["-rW", file]).stdout.split("\n")) {
    const head = /^Relocation section '[^']+' at offset 0x([0-9a-f]+)/.exec(line);
    if (head) {
      current = [];
      bySection.set(targetAt.get(parseInt(head[1]!, 16)) ?? -1, current);
      continue;
    }
    const m = /^([0-9a-f]{16})\s+\S+\s+\S+\s+[0-9a-f]+\s+(\S+)\s*([+-])\s*([0-9a-f]+)/.exec(line);
    if (current && m) current.push({ offset: parseInt(m[1]!, 16), target: m[2]!, addend: (m[3] === "-" ? -1 : 1) * parseInt(m[4]!, 16) });
  }
  return bySection;
}

/**
 * The function containing target+addend: a FUNC symbol itself, or the FUNC covering it in a
 * section, or ending there (objtool's ORC entry that closes a function).
 */
function owner(syms: Sym[], target: string, addend: number): string {
  const funcs = syms.filter((s) => s.type === "FUNC" && s.section !== "UND");
  if (funcs.some((s) => s.name === target)) return target;
  const f = funcs.find((s) => s.section === target && s.value <= addend && addend < s.value + s.size)
    ?? funcs.find((s) => s.section === target && addend === s.value + s.size)
    // arm64's CALL_OPS NOPs in front of the function, which __patchable_function_entries names.
    ?? funcs.find((s) => s.section === target && addend < s.value && s.value - addend <= 8);
  return f ? f.name : `${target}+0x${addend.toString(16)}`;
}

/** A data reference as "object+offset", resolving section-relative references to the OBJECT there. */
function dataRef(syms: Sym[], target: string, addend: number): string {
  if (syms.some((s) => s.name === target && s.type !== "SECTION")) return `${target}+${addend}`;
  const o = syms.find((s) => s.type === "OBJECT" && s.section === target && s.value <= addend && addend < s.value + Math.max(s.size, 1));
  return o ? `${o.name}+${addend - o.value}` : `${target}+${addend}`;
}

/**
 * Entries of a special section whose entries belong to the function their first field points
 * into, described independently of layout, sorted: the owning function, each other relocated
 * field as what it refers to (a function, or object+offset), and the entry's bytes (relocated
 * fields are zero in a RELA object), e.g. bug_entry's line and flags.
 */
export function specialEntries(file: string, section: string, size: number): string[] {
  const buf = fs.readFileSync(file);
  const tables = E.sections(buf).filter((x) => x.name === section);
  if (!tables.length) return [];
  const syms = symbols(file);
  const relocs = relocations(file);
  const describe = (r: { target: string; addend: number }) => {
    // An assembler label (gcc's `.LC0` for __FILE__) is a place in its section.
    const label = syms.find((s) => s.name === r.target && s.type === "NOTYPE" && s.section !== "UND");
    if (label) return `${label.section}+${label.value + r.addend}`;
    // So is a place past a function's end (arm64's alternative replacements in `.subsection 1`).
    const past = syms.find((s) => s.name === r.target && s.type === "FUNC" && s.section !== "UND" && r.addend > s.size);
    if (past) return `${past.section}+${past.value + r.addend}`;
    const fn = owner(syms, r.target, r.addend);
    return fn.includes("+0x") ? dataRef(syms, r.target, r.addend) : parentOf(fn);
  };
  const entries: string[] = [];
  for (const table of tables) {
    const bytes = buf.subarray(table.offset, table.offset + table.size);
    const own = relocs.get(table.index) ?? [];
    for (let off = 0; off + size <= bytes.length; off += size) {
      const mine = own.filter((r) => r.offset >= off && r.offset < off + size);
      const head = mine.find((r) => r.offset === off);
      const fields = mine.filter((r) => r !== head).map((r) => `+${r.offset - off}=${describe(r)}`);
      entries.push(`${head ? parentOf(owner(syms, head.target, head.addend)) : "?"} ${fields.join(" ")} ${bytes.subarray(off, off + size).toString("hex")}`);
    }
  }
  return entries.sort();
}

/** The function a `.cold` part (gcc's split-off unlikely code) or a __pfx_/__cfi_ preamble belongs to. */
export const parentOf = (name: string) => name.replace(/\.cold(\.\d+)?$/, "").replace(/^__(pfx|cfi)_/, "");
