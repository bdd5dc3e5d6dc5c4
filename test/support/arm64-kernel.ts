// Real arm64 kernel objects for tests: klpkit's arm64 tree (src/target/arm64.ts: Debian's 6.12
// source with Debian's arm64 config, cross-built with aarch64-linux-gnu-gcc-12, prepared once
// under $KLP_CACHE/trees), then pairs of objects before and after a patch (scripts/build-pair.sh).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { prepareArm64Tree, type Arm64Tree } from "../../src/target/arm64.js";
import { klpCache } from "./kernel.js";
import { repoRoot } from "./klp.js";

let prepared: Arm64Tree | undefined;

/** The prepared arm64 tree (prepared on first use, then cached). */
export function arm64Tree(): Arm64Tree {
  prepared ??= prepareArm64Tree(klpCache, () => {});
  return prepared;
}

/** Objects `objs` of the arm64 tree before and after `patchFile`, in $KLP_CACHE/pairs/arm64-<name>. */
export function buildArm64Pair(patchFile: string, objs: string[]): { orig: string[]; patched: string[] } {
  const tree = arm64Tree();
  const outDir = path.join(klpCache, "pairs", `arm64-${path.basename(patchFile, ".patch")}`);
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/build-pair.sh"), patchFile, outDir, ...objs], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
    env: { ...process.env, KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" ") },
  });
  if (r.status !== 0) {
    const tail = (r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n");
    throw new Error(`scripts/build-pair.sh ${patchFile} (arm64) failed:\n${tail}`);
  }
  return { orig: objs.map((o) => path.join(outDir, "orig", o)), patched: objs.map((o) => path.join(outDir, "patched", o)) };
}
