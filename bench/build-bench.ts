// Benchmark (not a test): patch → verified module, warm. The target's exact tree is prepared and
// its kallsyms are cached (what a second `klp build` for the same kernel finds); every run still
// compiles the patch's objects before and after (its build directory is removed first), diffs,
// resolves, proves, links, and boots the kernel with the module and the check.
//
//   node dist/bench/build-bench.js [--kernel V | --source TREE] [--patch FILE] [--check SCRIPT] [--runs N] [--json]
//
// Defaults: Debian 12's 6.12 kernel of the e2e suite, examples/cmdline.patch and its check, 5 runs.
// --source TREE benchmarks a kernel the user built (`bash scripts/own-kernel.sh clang-19` prints
// the Clang-built one's path).
// Prints the median (and min/max) of klp build, klp vm-test and their sum; `npm run bench:build`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const klp = path.join(repoRoot, "dist/klp.cjs");
const suite = JSON.parse(fs.readFileSync(path.join(repoRoot, "test/e2e-6.12/SUITE.json"), "utf8")) as { kernel: string };

const { values } = parseArgs({
  options: {
    kernel: { type: "string", default: suite.kernel },
    source: { type: "string" },
    patch: { type: "string", default: path.join(repoRoot, "examples/cmdline.patch") },
    check: { type: "string", default: path.join(repoRoot, "examples/cmdline-check.sh") },
    runs: { type: "string", default: "5" },
    json: { type: "boolean" },
  },
});
const kernel = values.source ?? values.kernel!, runs = Number(values.runs);
const target = values.source ? ["--source", values.source] : ["--kernel", values.kernel!];
const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");

function timed(args: string[]): { seconds: number; stdout: string; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [klp, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`klp ${args.join(" ")} exit ${r.status}\n${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out = fs.mkdtempSync(path.join(os.tmpdir(), "klp-build-bench-"));
const name = "klpbench_build";
process.stderr.write(`build-bench: warming up ${kernel} (exact tree, kallsyms)\n`);
timed(["target", ...target, "--prepare"]);
timed(["build", ...target, "--patch", values.patch!, "-o", out, "--name", name]);
const rows: { build: number; vm: number; steps: Record<string, number> }[] = [];
for (let i = 0; i < runs; i++) {
  for (const d of fs.readdirSync(path.join(cache, "builds")).filter((d) => d.startsWith(`${name}-`))) {
    fs.rmSync(path.join(cache, "builds", d), { recursive: true, force: true });
  }
  const b = timed(["build", ...target, "--patch", values.patch!, "-o", out, "--name", name, "--json"]);
  const steps = Object.fromEntries((JSON.parse(b.stdout) as { steps: { step: string; seconds: number }[] }).steps.map((s) => [s.step, s.seconds]));
  const v = timed(["vm-test", ...target, path.join(out, `${name}.ko`), "--check", values.check!]);
  rows.push({ build: b.seconds, vm: v.seconds, steps });
  process.stderr.write(`build-bench: run ${i + 1}: build ${b.seconds.toFixed(1)} s, vm-test ${v.seconds.toFixed(1)} s\n`);
}
const total = rows.map((r) => r.build + r.vm);
const report = {
  kernel, patch: path.relative(repoRoot, values.patch!), runs,
  medianSeconds: { build: median(rows.map((r) => r.build)), vmTest: median(rows.map((r) => r.vm)), total: median(total) },
  minTotal: Math.min(...total), maxTotal: Math.max(...total),
  medianStepSeconds: Object.fromEntries(Object.keys(rows[0]!.steps).map((k) => [k, median(rows.map((r) => r.steps[k] ?? 0))])),
};
fs.rmSync(out, { recursive: true, force: true });
if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
else {
  const m = report.medianSeconds;
  process.stdout.write(`${kernel}, ${report.patch}, ${runs} warm runs: median build ${m.build.toFixed(1)} s + vm-test ${m.vmTest.toFixed(1)} s = ${m.total.toFixed(1)} s (min ${report.minTotal.toFixed(1)}, max ${report.maxTotal.toFixed(1)})\n`);
  process.stdout.write(`  build steps (median): ${Object.entries(report.medianStepSeconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}\n`);
}
