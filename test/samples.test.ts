// The kernel's own livepatch modules — samples/livepatch/*.c and lib/livepatch/*.c (6.1's home
// of the selftests' test modules) — built from the target's exact tree, each given a `klp
// check` verdict: safe; unsafe because a klp_object names a module the target does not have
// (the demo modules that ship beside them); or not a livepatch (exit 2). Every one called safe
// is loaded in the VM and enabled; those that print "this has been live patched" are read.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { preparedTree } from "./support/kernel.js";
import { repoRoot, runKlp } from "./support/klp.js";

interface Finding { kind: string; symbol: string }
interface VmReport { steps: { id: string; status: string }[] }

const DIRS = ["samples/livepatch", "lib/livepatch"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-samples-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const ko = (name: string) => path.join(tmp, `${name}.ko`);

const NOT_A_LIVEPATCH = 2;
/** Verdicts: "safe", the sorted findings of an unsafe one, or NOT_A_LIVEPATCH. */
const EXPECTED: Record<string, "safe" | string[] | typeof NOT_A_LIVEPATCH> = {
  "livepatch-sample": "safe",
  "livepatch-callbacks-demo": ["object livepatch_callbacks_busymod", "object livepatch_callbacks_mod"],
  "livepatch-shadow-fix1": ["object livepatch_shadow_mod"],
  "livepatch-shadow-fix2": ["object livepatch_shadow_mod"],
  "livepatch-callbacks-mod": NOT_A_LIVEPATCH,
  "livepatch-callbacks-busymod": NOT_A_LIVEPATCH,
  "livepatch-shadow-mod": NOT_A_LIVEPATCH,
  test_klp_livepatch: "safe",
  test_klp_atomic_replace: "safe",
  test_klp_callbacks_demo: ["object test_klp_callbacks_busy", "object test_klp_callbacks_mod"],
  test_klp_callbacks_demo2: "safe",
  test_klp_state: "safe",
  test_klp_state2: "safe",
  test_klp_state3: "safe",
  test_klp_callbacks_mod: NOT_A_LIVEPATCH,
  test_klp_callbacks_busy: NOT_A_LIVEPATCH,
  test_klp_shadow_vars: NOT_A_LIVEPATCH,
};
/** Safe modules whose replacement prints "<name>: this has been live patched" in /proc. */
const PRINTS = new Set(["test_klp_livepatch", "test_klp_atomic_replace"]);

before(() => {
  const tree = preparedTree();
  const target = JSON.parse(runKlp(["target", "--json"]).stdout) as { files: { symvers: string } };
  const sources = DIRS.flatMap((d) => fs.readdirSync(path.join(tree.dir, d)).filter((f) => f.endsWith(".c")).map((f) => path.join(tree.dir, d, f)));
  assert.deepEqual(sources.map((f) => path.basename(f, ".c")).sort(), Object.keys(EXPECTED).sort(), "the tree's livepatch samples and test modules");
  for (const f of sources) fs.copyFileSync(f, path.join(tmp, path.basename(f)));
  fs.writeFileSync(path.join(tmp, "Kbuild"), `obj-m := ${Object.keys(EXPECTED).map((m) => `${m}.o`).join(" ")}\n`);
  const r = spawnSync("nice", ["make", "-C", tree.dir, `M=${tmp}`, ...tree.makeVars, `KBUILD_EXTRA_SYMBOLS=${target.files.symvers}`, "modules"],
    { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `building the modules failed:\n${`${r.stdout}${r.stderr}`.split("\n").slice(-30).join("\n")}`);
});

const safe = Object.entries(EXPECTED).filter(([, v]) => v === "safe").map(([k]) => k);

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`klp check ${name}: ${Array.isArray(expected) ? `unsafe (${expected.join(", ")})` : expected === NOT_A_LIVEPATCH ? "not a livepatch" : "safe"}`, () => {
    const run = runKlp(["check", ko(name), "--json"], 1_200_000);
    if (expected === NOT_A_LIVEPATCH) {
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /no static struct klp_patch found/);
      return;
    }
    const report = JSON.parse(run.stdout) as { verdict: string; findings: Finding[] };
    assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.symbol}`).sort(), expected === "safe" ? [] : expected, run.stderr);
    assert.equal(run.status, expected === "safe" ? 0 : 1);
  });
}

test(`the modules klp check calls safe load and enable in the VM (${safe.length})`, () => {
  for (const name of safe) {
    const checks = PRINTS.has(name) ? ["--check", path.join(repoRoot, "test/vm/proc-live-patched.sh")] : [];
    const run = runKlp(["vm-test", ko(name), ...checks, "--json"], 300_000);
    const report = JSON.parse(run.stdout) as VmReport;
    assert.equal(run.status, 0, `${name}:\n${run.stdout}\n${run.stderr}`);
    assert.ok(report.steps.some((s) => s.id === "livepatch:enable" && s.status === "pass"), name);
    if (PRINTS.has(name)) assert.ok(report.steps.some((s) => s.id === "check:1" && s.status === "pass"), name);
  }
  // Negative control: the check on a safe livepatch that prints nothing fails.
  const control = runKlp(["vm-test", ko("test_klp_state"), "--check", path.join(repoRoot, "test/vm/proc-live-patched.sh"), "--json"], 300_000);
  assert.equal(control.status, 1, control.stdout);
  assert.ok((JSON.parse(control.stdout) as VmReport).steps.some((s) => s.id === "check:1" && s.status === "fail"));
});

test("klp convert leaves the safe ones byte for byte (they use exports only) and refuses a fix for a module the target lacks", () => {
  for (const name of safe) {
    const out = path.join(tmp, `${name}.converted.ko`);
    const run = runKlp(["convert", ko(name), "-o", out], 600_000);
    assert.equal(run.status, 0, `${name}: ${run.stderr}`);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(ko(name))), name);
  }
  const out = path.join(tmp, "shadow-fix1.converted.ko");
  const run = runKlp(["convert", ko("livepatch-shadow-fix1"), "-o", out], 600_000);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /would not load on .*nothing written\n\s+livepatch_shadow_mod: .*has no module livepatch_shadow_mod/);
  assert.equal(fs.existsSync(out), false);
});
