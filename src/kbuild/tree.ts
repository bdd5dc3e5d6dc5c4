// Building in a kernel source tree through the package's own scripts (scripts/kernel-tree.sh
// prepares one, scripts/build-pair.sh builds objects before and after a patch).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ExitCode, KlpError } from "../errors.js";

/** klpkit's own folder (where package.json and scripts/ are), from the bundle or from dist/src. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "scripts/build-pair.sh"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new KlpError(ExitCode.badInput, "cannot find klpkit's scripts/ folder");
    dir = up;
  }
}

/**
 * Runs one of scripts/; its stdout. Exit 2 from a script is bad input (a compile error, a
 * missing tool); anything else is a failure of klpkit's own preparation.
 */
/** A compiler diagnostic line: `fs/proc/cmdline.c:10:21: error: …`. */
const DIAGNOSTIC = /^\S+:\d+:\d+: (error|fatal error):/;

export function runScript(script: string, args: string[], env: Record<string, string>, what: string | ((stderr: string) => string)): string {
  const r = spawnSync("bash", [path.join(packageRoot(), "scripts", script), ...args], {
    encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    const stderr = r.stderr ?? "";
    const lines = stderr.trim().split("\n");
    // The compiler's own diagnostics first, then the script's last words.
    const diagnostics = lines.filter((l) => DIAGNOSTIC.test(l)).slice(0, 20);
    const tail = lines.slice(-6).filter((l) => !diagnostics.includes(l));
    throw new KlpError(ExitCode.badInput, typeof what === "string" ? `${what} failed` : what(stderr), undefined, [...diagnostics, ...tail]);
  }
  return r.stdout ?? "";
}

/** A prepared tree and the make variables every build in it uses (the kernel's compiler, release). */
export interface BuildTree {
  readonly dir: string;
  readonly makeVars: readonly string[];
}

/**
 * Builds `objects` before and after `patch` into outDir/{orig,patched}/; returns patch's notes on
 * hunks that applied at an offset ("Hunk #1 succeeded at 6392 (offset 8 lines).").
 */
export function buildObjectPair(tree: BuildTree, patch: string, outDir: string, objects: readonly string[]): string[] {
  // A compile error is the patch's (or the tree's) problem: bad input with the compiler's words.
  const what = (stderr: string) => /make failed for the patched build/.test(stderr) ? `the patched source does not compile (${objects.join(", ")})`
    : /make failed for the orig build/.test(stderr) ? `the unpatched tree does not compile ${objects.join(", ")}`
    : `building ${objects.join(", ")} before and after the patch failed`;
  const out = runScript("build-pair.sh", [patch, outDir, ...objects], { KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" ") }, what);
  return out.split("\n").filter((l) => /^Hunk #\d+ succeeded at/.test(l));
}

/**
 * Preprocesses the C files of `objects` before and after `patch` into outDir/{orig,patched}/, a
 * `.i` for each `.o`; never cached.
 */
export function preprocessPair(tree: BuildTree, patch: string, outDir: string, objects: readonly string[]): void {
  const what = (stderr: string) => /failed for the patched/.test(stderr) ? "the patched source does not preprocess"
    : `preprocessing ${objects.length} file(s) before and after the patch failed`;
  runScript("build-pair.sh", [patch, outDir, ...objects], { KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" "), KLP_PREPROCESS: "1" }, what);
}

/**
 * Puts klpkit's header into the tree (include/linux/klpkit.h) so a patch may include it: it
 * marks callbacks for `klp build`. Only written when missing or different.
 */
export function installKlpkitHeader(tree: string): void {
  const src = path.join(packageRoot(), "include/linux/klpkit.h");
  const dst = path.join(tree, "include/linux/klpkit.h");
  const want = fs.readFileSync(src);
  if (fs.existsSync(dst) && fs.readFileSync(dst).equals(want)) return;
  fs.writeFileSync(dst, want);
}

/**
 * Builds `objects` of the unpatched tree into outDir/orig/ (cached like any original build):
 * the kernel's own objects, as `klp check` reads them for ftrace sites and DWARF.
 */
export function buildOriginalObjects(tree: BuildTree, outDir: string, objects: readonly string[]): string[] {
  runScript("build-pair.sh", ["-", outDir, ...objects], { KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" "), KLP_ORIG_ONLY: "1" },
    `building ${objects.join(", ")} of the kernel's own source`);
  return objects.map((o) => path.join(outDir, "orig", o));
}
