// Real kernel objects for tests: the cached Debian source tree (scripts/kernel-tree.sh) and pairs
// of objects built before and after a patch (scripts/build-pair.sh).
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./klp.js";

export const klpCache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");

function runScript(script: string, args: string[]): string {
  const r = spawnSync("bash", [path.join(repoRoot, "scripts", script), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n");
    throw new Error(`scripts/${script} ${args.join(" ")} failed (status ${r.status ?? r.signal}):\n${tail}`);
  }
  return r.stdout ?? "";
}

/** The prepared kernel source tree (prepared on first use, then cached); its absolute path. */
export function kernelTree(): string {
  const lines = runScript("kernel-tree.sh", []).split("\n").filter((l) => l.trim() !== "");
  const tree = lines[lines.length - 1];
  if (!tree || !path.isAbsolute(tree)) throw new Error(`scripts/kernel-tree.sh printed no tree path`);
  return tree;
}

export interface Pair {
  orig: string[];
  patched: string[];
}

/**
 * Builds `objs` (paths relative to the tree) before and after `patchFile` (or `-`: a plain
 * rebuild) into `$KLP_CACHE/pairs/<name>`, name defaulting to the patch's base name. Cached:
 * a second call with the same patch and objects does nothing.
 */
export function buildPair(patchFile: string, objs: string[], name?: string): Pair {
  const pairName = name ?? (patchFile === "-" ? "rebuild" : path.basename(patchFile, ".patch"));
  const outDir = path.join(klpCache, "pairs", pairName);
  runScript("build-pair.sh", [patchFile, outDir, ...objs]);
  return {
    orig: objs.map((o) => path.join(outDir, "orig", o)),
    patched: objs.map((o) => path.join(outDir, "patched", o)),
  };
}
