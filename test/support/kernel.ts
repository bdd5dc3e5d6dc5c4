// Real kernel objects for tests: klpkit's prepared tree of the target kernel's exact source
// (`klp target --prepare`, the same tree `klp build` uses) and pairs of objects built in it
// before and after a patch (scripts/build-pair.sh).
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { repoRoot, runKlp } from "./klp.js";

export const klpCache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");

/** The default target's tree as `klp target --prepare --json` reports it. */
export interface TestTree {
  readonly dir: string;
  readonly makeVars: readonly string[];
  readonly layouts: Record<string, { size: number; fields: Record<string, { offset: number; size: number }> }>;
}

const trees = new Map<string, TestTree>();

/** The prepared kernel tree of `kernel` (prepared on first use, then cached). */
export function preparedTree(kernel?: string): TestTree {
  const key = kernel ?? "";
  const known = trees.get(key);
  if (known) return known;
  const r = runKlp(["target", "--prepare", "--json", ...(kernel ? ["--kernel", kernel] : [])], 1_800_000);
  if (r.status !== 0) throw new Error(`klp target --prepare failed (status ${r.status}):\n${r.stderr.trimEnd().split("\n").slice(-25).join("\n")}`);
  const t = JSON.parse(r.stdout) as { tree: string; makeVars: string[]; layouts: TestTree["layouts"] };
  const tree = { dir: t.tree, makeVars: t.makeVars, layouts: t.layouts };
  trees.set(key, tree);
  return tree;
}

/** The prepared tree's absolute path. */
export function kernelTree(kernel?: string): string {
  return preparedTree(kernel).dir;
}

export interface Pair {
  orig: string[];
  patched: string[];
}

/**
 * Builds `objs` (paths relative to the tree) before and after `patchFile` (or `-`: a plain
 * rebuild) into `$KLP_CACHE/pairs/<name>`, name defaulting to the patch's base name. Cached:
 * a second call with the same patch, objects and tree does nothing.
 */
export function buildPair(patchFile: string, objs: string[], name?: string, kernel?: string): Pair {
  const tree = preparedTree(kernel);
  const pairName = name ?? (patchFile === "-" ? "rebuild" : path.basename(patchFile, ".patch"));
  const outDir = path.join(klpCache, "pairs", `${pairName}${kernel ? `-${kernel}` : ""}`);
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/build-pair.sh"), patchFile, outDir, ...objs], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
    env: { ...process.env, KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" ") },
  });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n");
    throw new Error(`scripts/build-pair.sh ${patchFile} failed (status ${r.status ?? r.signal}):\n${tail}`);
  }
  return {
    orig: objs.map((o) => path.join(outDir, "orig", o)),
    patched: objs.map((o) => path.join(outDir, "patched", o)),
  };
}

const ownKernels = new Map<string, string>();

/**
 * The small kernel klpkit builds itself from Debian's 6.12 source with `compiler` (clang-19 or
 * gcc-12; scripts/own-kernel.sh, built once and cached by content, 10-25 minutes cold).
 */
export function ownKernelTree(compiler: string): string {
  const known = ownKernels.get(compiler);
  if (known) return known;
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/own-kernel.sh"), compiler], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, timeout: 3_600_000,
  });
  if (r.status !== 0) throw new Error(`scripts/own-kernel.sh ${compiler} failed (status ${r.status ?? r.signal}):\n${(r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n")}`);
  const dir = (r.stdout ?? "").trim().split("\n").pop()!;
  ownKernels.set(compiler, dir);
  return dir;
}
