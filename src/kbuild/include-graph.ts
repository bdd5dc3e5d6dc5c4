// Which C files read a header, through any chain of #include. A patch to a header changes every
// object whose compilation reads it: a static inline changed in include/linux/skbuff.h reaches
// net/core/dev.o through <linux/netdevice.h>, which no line of dev.c names. Objects found only by
// their direct #include would leave such callers with the old inline code, in silence.
//
// The graph is read from the source as written, every #include counted whatever #if surrounds
// it: a superset of what one configuration reads, which costs build time and never misses a
// reader. A quoted include found only through a Makefile's -I is placed by throughMakefileDirs.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";
import { NOT_COMPILED } from "./configured.js";

const INCLUDE = /^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]/;

/**
 * Headers kbuild puts in front of every C file with -include (LINUXINCLUDE in the top Makefile,
 * c_flags in scripts/Makefile.lib): whatever reaches one of them is read by every object.
 */
const FORCED = ["include/linux/compiler-version.h", "include/linux/kconfig.h", "include/linux/compiler_types.h"];

/** Where `#include <p>` looks, in kbuild's order (LINUXINCLUDE in the top Makefile). */
function angleDirs(srcArch: string): string[] {
  const a = `arch/${srcArch}/include`;
  return [a, `${a}/generated`, "include", `${a}/uapi`, `${a}/generated/uapi`, "include/uapi", "include/generated/uapi"];
}

/**
 * Where a quoted include the includer's directory lacks is found: through a Makefile's -I, most
 * often a directory above (arch/x86/kvm/mmu/mmu.c's "trace.h" is arch/x86/kvm/trace.h, by
 * `-I $(srctree)/arch/x86/kvm`). The nearest such header above the includer when there is one;
 * else every header that ends in the same path, since a -I may point anywhere.
 */
function throughMakefileDirs(from: string, p: string, sameName: readonly string[]): string[] {
  const tail = `/${p.replace(/^(\.\.\/)+/, "")}`;
  const candidates = sameName.filter((f) => f.endsWith(tail));
  const above = candidates.filter((f) => `${path.posix.dirname(from)}/`.startsWith(`${f.slice(0, -tail.length)}/`));
  if (!above.length) return candidates;
  const depth = Math.max(...above.map((f) => f.length));
  return above.filter((f) => f.length === depth);
}

/**
 * Every `#include` line of `files`, with the file it is in, found by grep: reading 6.1's 55,490
 * .c and .h files into JavaScript strings to search them took 13.7 s, grep takes about 2 s. The
 * files go to grep by the top directories that hold them (a list of 55,490 names would not fit
 * one command line).
 */
function includeLines(tree: string, files: readonly string[]): [string, string][] {
  const tops = [...new Set(files.map((f) => (f.startsWith("arch/") ? f.split("/").slice(0, 2).join("/") : f.split("/")[0]!)))].sort();
  const r = spawnSync("grep", ["-rHaE", "--include=*.c", "--include=*.h", "^[ \t]*#[ \t]*include", "--", ...tops], {
    cwd: tree, encoding: "latin1", maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: "C" },
  });
  // 1: no line matched anywhere.
  if (r.error || (r.status !== 0 && r.status !== 1)) throw badInput(tree, `grep could not read the tree's #include lines: ${r.error?.message ?? r.stderr}`);
  const out: [string, string][] = [];
  for (const l of r.stdout.split("\n")) {
    const colon = l.indexOf(":");
    if (colon > 0) out.push([l.slice(0, colon), l.slice(colon + 1)]);
  }
  return out;
}

export class IncludeGraph {
  /** File (tree-relative) → the files that #include it. */
  private readonly readers = new Map<string, Set<string>>();
  /** Every .c file of the graph. */
  private cFiles: string[] = [];

  private constructor() {}

  /** Reads every .c and .h of the tree that a kernel of `srcArch` may compile. */
  static of(tree: string, srcArch: string): IncludeGraph {
    const g = new IncludeGraph();
    const files: string[] = [];
    const walk = (rel: string, depth: number) => {
      for (const e of fs.readdirSync(path.join(tree, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (depth === 0 && NOT_COMPILED.has(e.name)) continue;
          if (depth === 1 && rel === "arch" && e.name !== srcArch) continue;
          walk(r, depth + 1);
        } else if (e.isFile() && (e.name.endsWith(".c") || e.name.endsWith(".h"))) {
          files.push(r);
        }
      }
    };
    walk("", 0);
    g.cFiles = files.filter((f) => f.endsWith(".c")).sort();
    const known = new Set(files);
    const byName = new Map<string, string[]>();
    for (const f of files) {
      const b = path.posix.basename(f);
      const list = byName.get(b);
      if (list) list.push(f); else byName.set(b, [f]);
    }
    const dirs = angleDirs(srcArch);
    const resolve = (from: string, quoted: boolean, p: string): string[] => {
      if (quoted) {
        const local = path.posix.normalize(path.posix.join(path.posix.dirname(from), p));
        if (known.has(local)) return [local];
      }
      for (const d of dirs) if (known.has(`${d}/${p}`)) return [`${d}/${p}`];
      return quoted ? throughMakefileDirs(from, p, byName.get(path.posix.basename(p)) ?? []) : [];
    };
    for (const [f, line] of includeLines(tree, files)) {
      const m = INCLUDE.exec(line);
      if (!m || !known.has(f)) continue;
      for (const target of resolve(f, m[1] === '"', m[2]!.trim())) {
        const set = g.readers.get(target);
        if (set) set.add(f); else g.readers.set(target, new Set([f]));
      }
    }
    return g;
  }

  /** Whether `file` names `header` in an #include of its own. */
  includes(file: string, header: string): boolean {
    return this.readers.get(header)?.has(file) ?? false;
  }

  /** The .c files that read `file` through any chain of includes (itself, if it is one). */
  cFilesReading(file: string): string[] {
    const seen = new Set([file]);
    const queue = [file];
    while (queue.length) {
      for (const r of this.readers.get(queue.pop()!) ?? []) {
        if (!seen.has(r)) { seen.add(r); queue.push(r); }
      }
    }
    if (FORCED.some((h) => seen.has(h))) return [...this.cFiles];
    return [...seen].filter((f) => f.endsWith(".c")).sort();
  }
}
