// A kernel's .config as data: CONFIG_* values as kbuild wrote them, and the digest that names
// the trees and caches built from it ("cache by content": two flavours never share a tree).
import { createHash } from "node:crypto";
import fs from "node:fs";
import { badInput } from "../errors.js";

export interface KernelConfig {
  readonly file: string;
  /** CONFIG_FOO → its value as written (`y`, `m`, `120200`, `"gcc-12 (Debian …) 12.2.0"`). */
  readonly values: ReadonlyMap<string, string>;
  /** sha256 of the file's bytes. */
  readonly sha256: string;
}

export function parseConfig(file: string, text: string): KernelConfig {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) values.set(m[1]!, m[2]!);
  }
  if (values.size < 100) throw badInput(file, `only ${values.size} CONFIG_ lines: not a kernel .config`);
  return { file, values, sha256: createHash("sha256").update(text).digest("hex") };
}

export function readConfig(file: string): KernelConfig {
  if (!fs.existsSync(file)) throw badInput(file, "no such kernel config");
  return parseConfig(file, fs.readFileSync(file, "latin1"));
}

/** True for `=y` or `=m`. */
export function isEnabled(c: KernelConfig, key: string): boolean {
  const v = c.values.get(key);
  return v === "y" || v === "m";
}

/** A string option without its quotes (`CONFIG_CC_VERSION_TEXT="gcc-12 …"` → `gcc-12 …`). */
export function configString(c: KernelConfig, key: string): string | undefined {
  const v = c.values.get(key);
  if (v === undefined) return undefined;
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v;
}

export function configNumber(c: KernelConfig, key: string): number | undefined {
  const v = c.values.get(key);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Options whose values differ between two configs (both directions), sorted. */
export function configDifferences(a: KernelConfig, b: KernelConfig, ignore: ReadonlySet<string>): string[] {
  const keys = new Set([...a.values.keys(), ...b.values.keys()]);
  return [...keys].filter((k) => !ignore.has(k) && a.values.get(k) !== b.values.get(k)).sort();
}
