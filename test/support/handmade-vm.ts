// The hand-made livepatches of test/check/ built against the default target and booted with
// `klp vm-test`: what the VM tests of klp check's findings share (inlined-vm, constprop-vm).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { preparedTree } from "./kernel.js";
import { repoRoot, runKlp } from "./klp.js";

export interface VmStep { id: string; status: string; output?: string[] }
export interface VmReport { steps: VmStep[] }

/** Builds test/check/<m>.c for each of `modules` into `dir` as external modules of the target's tree. */
export function buildHandmade(dir: string, modules: readonly string[]): void {
  const tree = preparedTree();
  const target = JSON.parse(runKlp(["target", "--json"]).stdout) as { files: { symvers: string } };
  for (const f of ["handmade.h", ...modules.map((m) => `${m}.c`)]) fs.copyFileSync(path.join(repoRoot, "test/check", f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, "Kbuild"), `ccflags-y += -I$(src)\nobj-m := ${modules.map((m) => `${m}.o`).join(" ")}\n`);
  const r = spawnSync("nice", ["make", "-C", tree.dir, `M=${dir}`, ...tree.makeVars, `KBUILD_EXTRA_SYMBOLS=${target.files.symvers}`, "modules"],
    { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `building the modules failed:\n${`${r.stdout}${r.stderr}`.split("\n").slice(-30).join("\n")}`);
}

/** `klp vm-test KO --check SCRIPT --json`, its report with the exit status and the raw text. */
export function vmTest(ko: string, script: string): VmReport & { status: number | null; text: string } {
  const run = runKlp(["vm-test", ko, "--check", script, "--json"], 300_000);
  let report: VmReport;
  try { report = JSON.parse(run.stdout) as VmReport; } catch { return assert.fail(`klp vm-test: no JSON (exit ${run.status}):\n${run.stderr}`); }
  return { ...report, status: run.status, text: run.stdout };
}

export const stepStatus = (r: VmReport, id: string) => r.steps.find((s) => s.id === id)?.status;
