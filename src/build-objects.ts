// `klp build --arch arm64 --emit-objects-only`: the first half of klp build for a kernel that
// cannot take a livepatch module yet. The objects the patch touches are built before and after it
// in klpkit's arm64 tree (Debian's 6.12 source and arm64 config), diffed with the tree's layouts,
// and each livepatch object is written; no symbols are resolved and nothing is linked.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { runDiff } from "./diff.js";
import { badInput, ExitCode, KlpError, refuse } from "./errors.js";
import { screenHeaderReaders } from "./kbuild/header-readers.js";
import { affectedObjects, patchedFiles } from "./kbuild/patch-files.js";
import { buildObjectPair } from "./kbuild/tree.js";
import type { Refusal } from "./errors.js";
import { prepareArm64Tree } from "./target/arm64.js";
import { cacheDir } from "./target/cache.js";
import { sourceArch } from "./target/target.js";

export interface ObjectBuildResult {
  readonly arch: "arm64";
  readonly tree: string;
  readonly source: string;
  readonly objects: readonly { object: string; changed: string[]; new: string[]; output: string | null }[];
}

/** DIR/fs_proc_cmdline.klp.o for fs/proc/cmdline.o. */
const outputName = (object: string) => `${object.replace(/\.o$/, "").replace(/[/]/g, "_")}.klp.o`;

export function runObjectBuild(patch: string, outDir: string, root: string, log: (s: string) => void): ObjectBuildResult {
  if (!fs.existsSync(patch)) throw badInput(patch, "no such patch file");
  const isDir = fs.existsSync(outDir) && fs.statSync(outDir).isDirectory();
  if (!isDir) throw badInput(outDir, "output directory does not exist");
  const text = fs.readFileSync(patch, "latin1");
  const tree = prepareArm64Tree(root, log);
  const found = affectedObjects(tree.dir, patchedFiles(patch, text), sourceArch("arm64"));
  if (found.unsupported.length) {
    throw refuse("the patch changes files that cannot be livepatched", found.unsupported.map((f) => ({
      symbol: f, reason: "only C sources and headers can be livepatched", hint: "change the C code that uses it instead",
    })), patch);
  }
  if (!found.objects.length) {
    throw new KlpError(ExitCode.noChange, "the patch touches no file that Debian's arm64 configuration builds", patch);
  }
  const key = createHash("sha256").update(text).update(tree.dir).digest("hex").slice(0, 12);
  const work = path.join(cacheDir(root, "builds"), `arm64-${key}`);
  // As klp build does: of the objects only a patched header brings in, those the change reaches.
  let built = found.direct;
  if (found.throughHeaders.length) {
    const screen = screenHeaderReaders(tree, path.resolve(patch), path.join(work, "screen"), found.throughHeaders, log);
    log(`header readers: ${screen.reached.length} of ${found.throughHeaders.length} may compile to other code`);
    built = [...built, ...screen.reached.map((r) => r.object)].sort();
  }
  if (!built.length) throw new KlpError(ExitCode.noChange, "the patch reaches no code of the objects that read its headers", patch);
  log(`building ${built.join(", ")} before and after the patch (arm64)`);
  buildObjectPair(tree, path.resolve(patch), work, built);
  const refused: Refusal[] = [];
  const objects = built.map((object) => {
    const output = path.join(outDir, outputName(object));
    const [orig, patched] = [path.join(work, "orig", object), path.join(work, "patched", object)];
    const r = runDiff(orig, patched, { layouts: tree.layouts, output, structLayouts: true });
    refused.push(...r.refused);
    return { object, changed: r.changed.map((f) => f.name), new: r.new.map((f) => f.name), output: r.output };
  });
  if (refused.length) {
    for (const o of objects) if (o.output) fs.rmSync(o.output, { force: true });
    throw refuse("the patch makes unsafe changes", refused, patch);
  }
  if (objects.every((o) => !o.output)) {
    throw new KlpError(ExitCode.noChange, "no functional change in the patched objects", patch);
  }
  return { arch: "arm64", tree: tree.dir, source: `linux-source-6.12 ${tree.version}`, objects };
}
