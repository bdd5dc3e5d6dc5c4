// What a patch touches, and which kernel objects have to be rebuilt for it.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";

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

const includeOf = (header: string): RegExp => {
  // include/linux/foo.h is included as <linux/foo.h>; arch headers as <asm/...>.
  const m = /^(?:include|arch\/[^/]+\/include)\/(.+)$/.exec(header);
  const name = m ? m[1]! : path.basename(header);
  return new RegExp(`#\\s*include\\s*[<"](?:[\\w./-]*/)?${name.replace(/[.+]/g, "\\$&")}[>"]`);
};

/**
 * Objects to rebuild: a .c file's own object; for a header, every .c in the tree that
 * includes it directly by that path and whose object the configured build already knows
 * (it has a kbuild .cmd file, or the .c lies in the header's own directory).
 */
export function affectedObjects(tree: string, files: readonly string[]): { objects: string[]; unsupported: string[] } {
  const objects = new Set<string>();
  const unsupported: string[] = [];
  for (const f of files) {
    if (f.endsWith(".c")) objects.add(f.slice(0, -2) + ".o");
    else if (f.endsWith(".h")) for (const o of objectsIncluding(tree, f)) objects.add(o);
    else unsupported.push(f);
  }
  return { objects: [...objects].sort(), unsupported };
}

function objectsIncluding(tree: string, header: string): string[] {
  const re = includeOf(header);
  const local = !/^(include|arch\/[^/]+\/include)\//.test(header);
  const roots = local ? [path.dirname(header)] : ["."];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(tree, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (!local && /^(Documentation|tools|scripts|samples|\.git|usr|certs)$/.test(e.name)) continue;
        walk(r);
      } else if (e.name.endsWith(".c") && re.test(fs.readFileSync(path.join(tree, r), "latin1"))) {
        out.push(r.slice(0, -2) + ".o");
      }
    }
  };
  for (const r of roots) walk(r);
  return out;
}
