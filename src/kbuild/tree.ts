// The kernel source tree the patch is built in, and the objects built from it, through the
// package's own scripts (scripts/kernel-tree.sh, scripts/build-pair.sh).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ExitCode, KlpError, badInput } from "../errors.js";

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

function runScript(script: string, args: string[], env: Record<string, string>, what: string): string {
  const r = spawnSync("bash", [path.join(packageRoot(), "scripts", script), ...args], {
    encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trim().split("\n").slice(-12);
    throw new KlpError(r.status === 2 ? ExitCode.badInput : ExitCode.refused, `${what} failed`, undefined, tail);
  }
  return r.stdout ?? "";
}

export interface TreeOptions {
  readonly kernel: string;
  /** A prepared tree of the user's; otherwise klpkit's cached tree for `kernel`. */
  readonly source?: string;
}

const env = (t: TreeOptions): Record<string, string> => ({ KLP_KERNEL: t.kernel, ...(t.source ? { KLP_TREE: path.resolve(t.source) } : {}) });

export function prepareTree(t: TreeOptions): string {
  if (t.source) {
    if (!fs.existsSync(path.join(t.source, "Makefile"))) throw badInput(t.source, "not a kernel source tree (no Makefile)");
    return path.resolve(t.source);
  }
  return runScript("kernel-tree.sh", [], env(t), "preparing the kernel source tree").trim().split("\n").pop()!;
}

/** Builds `objects` before and after `patch` into outDir/{orig,patched}/. */
export function buildObjectPair(t: TreeOptions, patch: string, outDir: string, objects: readonly string[]): void {
  runScript("build-pair.sh", [patch, outDir, ...objects], env(t), `building ${objects.join(", ")} before and after the patch`);
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
