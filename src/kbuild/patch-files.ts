// What a patch touches, and which kernel objects have to be rebuilt for it.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";
import { ConfiguredObjects } from "./configured.js";

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
 * includes it directly by that path. Only objects the kernel's configuration builds count; a
 * changed .c that the configuration does not build is reported in `notBuilt`.
 */
export function affectedObjects(tree: string, files: readonly string[]): { objects: string[]; unsupported: string[]; notBuilt: string[] } {
  const configured = new ConfiguredObjects(tree);
  const objects = new Set<string>();
  const unsupported: string[] = [];
  const notBuilt: string[] = [];
  for (const f of files) {
    if (f.endsWith(".c")) {
      const o = f.slice(0, -2) + ".o";
      if (configured.builds(o)) objects.add(o); else notBuilt.push(f);
    } else if (f.endsWith(".h")) {
      for (const o of objectsIncluding(tree, f)) if (configured.builds(o)) objects.add(o);
    } else unsupported.push(f);
  }
  return { objects: [...objects].sort(), unsupported, notBuilt };
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
