// What a patch touches, and which kernel objects have to be rebuilt for it.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";
import { ConfiguredObjects } from "./configured.js";
import { IncludeGraph } from "./include-graph.js";

/** Files a unified diff changes (the `+++ b/...` side; new files included, deletions not). */
export function patchedFiles(patchPath: string, text: string): string[] {
  const files = new Set<string>();
  for (const m of text.matchAll(/^\+\+\+ (\S+)/gm)) {
    const f = m[1]!;
    if (f === "/dev/null") continue;
    files.add(f.replace(/^[^/]+\//, ""));
  }
  if (!files.size) throw badInput(patchPath, "not a unified diff: no '+++ b/FILE' lines");
  return [...files];
}

const objectOf = (c: string) => `${c.slice(0, -2)}.o`;

/**
 * Objects to rebuild: a .c file's own object, and those of .c files beside it that #include it
 * (fs/compat_binfmt_elf.c includes binfmt_elf.c); for a header, every .c of the tree that reads
 * it through any chain of includes (IncludeGraph). Only objects the kernel's configuration
 * builds count; a changed .c that the configuration does not build is reported in `notBuilt`.
 * `direct` are those of `objects` the patch's own .c files make, `throughHeaders` those only a
 * header brings in: klp build preprocesses the latter first (header-readers.ts) and compiles only
 * those the change reaches.
 */
export function affectedObjects(tree: string, files: readonly string[], srcArch: string):
  { objects: string[]; direct: string[]; throughHeaders: string[]; unsupported: string[]; notBuilt: string[] } {
  const configured = new ConfiguredObjects(tree, srcArch);
  const objects = new Set<string>();
  const readers = new Set<string>();
  const unsupported: string[] = [];
  const notBuilt: string[] = [];
  let graph: IncludeGraph | undefined;
  for (const f of files) {
    if (f.endsWith(".c")) {
      const o = objectOf(f);
      if (configured.builds(o)) objects.add(o); else notBuilt.push(f);
      for (const c of includersBeside(tree, f)) if (configured.builds(objectOf(c))) objects.add(objectOf(c));
    } else if (f.endsWith(".h")) {
      graph ??= IncludeGraph.of(tree, srcArch);
      for (const c of graph.cFilesReading(f)) if (configured.builds(objectOf(c))) readers.add(objectOf(c));
    } else unsupported.push(f);
  }
  for (const o of objects) readers.delete(o);
  return { objects: [...objects, ...readers].sort(), direct: [...objects].sort(), throughHeaders: [...readers].sort(), unsupported, notBuilt };
}

/**
 * The .c files in the directory of `file` (a .c) that #include it by name: fs/compat_binfmt_elf.c
 * includes binfmt_elf.c and so compiles a second copy of it.
 */
export function includersBeside(tree: string, file: string): string[] {
  const dir = path.dirname(file);
  const include = new RegExp(`^[ \\t]*#[ \\t]*include[ \\t]*"${path.basename(file).replace(/[.+]/g, "\\$&")}"`, "m");
  let names: string[];
  try {
    names = fs.readdirSync(path.join(tree, dir));
  } catch {
    return [];
  }
  return names.filter((e) => e.endsWith(".c") && path.join(dir, e) !== file && include.test(fs.readFileSync(path.join(tree, dir, e), "latin1")))
    .map((e) => path.join(dir, e));
}
