// End to end, shared by the e2e test files. They are split by kernel family (e2e-debian61 and
// e2e-debian61-more, e2e-debian612, e2e-own-kernels) so that node's --test-concurrency=2 runs two
// at once.
// With a single file, its cases ran one after another at the end of a cold CI run while the second
// core sat idle (64 min 45 s for 98 CPU-minutes).
//
// Every case goes through `klp build` against its target kernel, and the module is loaded into that
// kernel under qemu by `klp vm-test`, which runs the case's check inside the VM. A module case is
// booted twice: the module loaded before the livepatch, and after it (late module patching). Every
// check is also run once on the same kernel with an unrelated livepatch loaded instead (the negative
// control): it must fail there, or the check proves nothing. An unsafe patch must be refused,
// writing nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { repoRoot, runKlp } from "./klp.js";
import { kernelTree, ownKernelTree } from "./kernel.js";

export interface E2eCase {
  check?: string;
  module?: string;
  /** Other modules the check needs, loaded before the livepatch in every boot (e.g. loop for a vfat image). */
  needs?: string[];
  buildExit?: number;
  refused?: string;
  /** A WARNING the patched code fires on purpose (a regex for klp vm-test --expect-warn). */
  expectWarn?: string;
  /** Build with --replace (a cumulative patch). */
  replace?: boolean;
  /** Another case whose livepatch is loaded first (as klpe2e_<this case>_base); this one must supersede it. */
  before?: string;
  /** The patch, when it is not NAME.patch beside the JSON (relative to the JSON's folder). */
  patch?: string;
  /** The target kernel, when not the suite's. */
  kernel?: string;
  /** Build in klpkit's exact tree of this other kernel (--source): the byte proof must refuse it. */
  sourceOf?: string;
  /** More `klp build` arguments (--ignore-init-changes). */
  buildArgs?: string[];
  /** A regex the build's summary must match (what it says it left out, say). */
  summary?: string;
  why: string;
}

export interface Suite {
  readonly dir: string;
  readonly kernel: string | undefined;
  /** A kernel klpkit builds itself with this compiler (scripts/own-kernel.sh), the target as a built tree. */
  readonly own?: string;
  /** Only these cases of `dir` (a small own kernel builds few of a Debian kernel's files). */
  readonly only?: readonly string[];
  readonly label: string;
  /** Only the cases whose patch applies to this kernel's tree. */
  readonly whereApplies?: boolean;
  /** Cases left out, each with the reason. */
  readonly skip?: Record<string, string>;
  /** Fields that differ on this kernel, by case. */
  readonly override?: Record<string, Partial<E2eCase>>;
}

interface Reuse { skip?: Record<string, string>; override?: Record<string, Partial<E2eCase>> }
/** test/e2e-6.12/SUITE.json: its kernel, and which other suites' cases run there too. */
interface SuiteFile { kernel: string; reuse: Record<string, Reuse> }
/** test/e2e-own/SUITE.json: the compilers of klpkit's own kernels, and the cases reused there. */
interface OwnSuiteFile { compilers: Record<string, string>; optional: Record<string, string>; reuse: Record<string, Reuse & { only: string[] }> }

const readJson = <T>(rel: string): T => JSON.parse(fs.readFileSync(path.join(repoRoot, rel), "utf8")) as T;
const suiteFile = readJson<SuiteFile>("test/e2e-6.12/SUITE.json");
export const K612 = suiteFile.kernel;
export const ownFile = readJson<OwnSuiteFile>("test/e2e-own/SUITE.json");

/**
 * The own kernels this run builds: a compiler named in "optional" (the GCC twin: one more kernel
 * build) runs only when KLP_E2E_OWN names it (KLP_E2E_OWN=clang,gcc), or "all".
 */
export const wantedOwn = (label: string): boolean => {
  if (!(label in ownFile.optional)) return true;
  const asked = (process.env["KLP_E2E_OWN"] ?? "").split(",");
  return asked.includes(label) || asked.includes("all");
};

/** Debian 12's default 6.1 kernel: test/e2e and test/fixes. */
export const DEBIAN61_SUITES: Suite[] = [
  { dir: "test/e2e", kernel: undefined, label: "e2e" },
  { dir: "test/fixes", kernel: undefined, label: "fix" },
];

/**
 * Debian 6.1 kernels, the rest (a file of its own, so that two cores share the 6.1 cases):
 * test/exact (each case names its kernel) and test/stable (what the stable-update corpus found).
 */
export const DEBIAN61_MORE_SUITES: Suite[] = [
  { dir: "test/exact", kernel: undefined, label: "exact" },
  { dir: "test/stable", kernel: undefined, label: "stable" },
];

/** Debian 12's 6.12 kernel: test/e2e-6.12 and the cases of other suites that apply there. */
export const DEBIAN612_SUITES: Suite[] = [
  { dir: "test/e2e-6.12", kernel: K612, label: "6.12" },
  ...Object.entries(suiteFile.reuse).map(([dir, r]): Suite => ({
    dir, kernel: K612, label: `6.12 ${path.basename(dir)}`, whereApplies: true, ...(r.skip ? { skip: r.skip } : {}), ...(r.override ? { override: r.override } : {}),
  })),
];

/** klpkit's own kernels from Debian's 6.12 source (Clang, and the optional GCC twin), as built trees. */
export const OWN_SUITES: Suite[] = Object.entries(ownFile.compilers).filter(([label]) => wantedOwn(label)).flatMap(([label, own]) => [
  { dir: "test/e2e-own", kernel: undefined, own, label },
  ...Object.entries(ownFile.reuse).map(([dir, r]): Suite => ({
    dir, kernel: undefined, own, label: `${label} ${path.basename(dir)}`, only: r.only, ...(r.skip ? { skip: r.skip } : {}), ...(r.override ? { override: r.override } : {}),
  })),
]);

/** The kernel a case runs on: a Debian release (undefined: the default) or an own kernel's compiler. */
export type Target = { kernel: string | undefined } | { own: string };

export interface Case {
  suite: Suite;
  name: string;
  dir: string;
  patch: string;
  spec: E2eCase;
  kernel: string | undefined;
  target: Target;
}

/** The cases of `suites`, in the order they run. */
export function casesOf(suites: readonly Suite[]): Case[] {
  return suites.flatMap((suite) => {
    const dir = path.join(repoRoot, suite.dir);
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "SUITE.json").sort()
      .filter((f) => !suite.only || suite.only.includes(f.slice(0, -5))).map((f) => {
        const name = f.slice(0, -5);
        const spec = { ...(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as E2eCase), ...(suite.override?.[name] ?? {}) };
        const kernel = spec.kernel ?? suite.kernel;
        const target: Target = suite.own ? { own: suite.own } : { kernel };
        return { suite, name, dir, patch: path.join(dir, spec.patch ?? `${name}.patch`), spec, kernel, target };
      });
  });
}

const BUILD_TIMEOUT = 900_000;
const VM_TIMEOUT = 300_000;
const targetArgs = (t: Target) => ("own" in t ? ["--source", ownKernelTree(t.own)] : t.kernel ? ["--kernel", t.kernel] : []);
const targetKey = (t: Target) => ("own" in t ? `own-${t.own}` : t.kernel ?? "default");
const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, "_").toLowerCase();

/** Whether `patch` applies to the tree of `t` exactly (no fuzz, as klp build requires; --dry-run writes nothing). */
export function applies(patch: string, t: Target): boolean {
  const tree = "own" in t ? ownKernelTree(t.own) : kernelTree(t.kernel);
  const r = spawnSync("patch", ["-p1", "--dry-run", "-f", "-s", "--fuzz=0", "-i", patch], { cwd: tree, encoding: "utf8" });
  return r.status === 0;
}

/** Registers one test per case of `cases`: build, boot (before and after a module), negative control. */
export function e2eTests(cases: readonly Case[]): void {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "klp-e2e-"));
  /** An unrelated livepatch per kernel for the negative controls: cmdline's (version's for the cmdline case). */
  const controls = new Map<string, string>();
  const controlModule = (target: Target, caseName: string): string => {
    const which = caseName === "cmdline" ? "version" : "cmdline";
    const key = `${targetKey(target)}-${which}`;
    const known = controls.get(key);
    if (known) return known;
    const name = `klpe2e_control_${slug(key)}`;
    const b = runKlp(["build", "--patch", path.join(repoRoot, "test/e2e", `${which}.patch`), "-o", out, "--name", name, ...targetArgs(target)], BUILD_TIMEOUT);
    assert.equal(b.status, 0, `klp build of the control livepatch: ${b.stderr}`);
    const ko = path.join(out, `${name}.ko`);
    controls.set(key, ko);
    return ko;
  };

  for (const { suite, name, dir, patch, spec, kernel, target } of cases) {
    test(`${suite.label} ${name}: ${spec.why}`, { timeout: BUILD_TIMEOUT * 2 + 3 * VM_TIMEOUT }, (t) => {
      const skipped = suite.skip?.[name];
      if (skipped) return t.skip(skipped);
      if (suite.whereApplies && !applies(patch, target)) return t.skip(`does not apply to ${kernel}`);
      const modName = `klpe2e_${slug(`${suite.label}_${name}`)}`.slice(0, 55);
      const ko = path.join(out, `${modName}.ko`);
      const earlier: string[] = (spec.needs ?? []).flatMap((m) => ["--preload", m]);
      if (spec.before) {
        const baseName = `${modName.slice(0, 49)}_base`;
        const base = runKlp(["build", "--patch", path.join(dir, `${spec.before}.patch`), "-o", out, "--name", baseName, ...targetArgs(target)], BUILD_TIMEOUT);
        assert.equal(base.status, 0, `klp build of the earlier patch: ${base.stderr}`);
        earlier.push("--preload", path.join(out, `${baseName}.ko`));
      }
      const source = spec.sourceOf ? ["--source", kernelTree(spec.sourceOf)] : [];
      const build = runKlp(["build", "--patch", patch, "-o", out, "--name", modName, ...targetArgs(target), ...source, ...(spec.replace ? ["--replace"] : []), ...(spec.buildArgs ?? [])], BUILD_TIMEOUT);
      const expected = spec.buildExit ?? 0;
      assert.equal(build.status, expected, `klp build exit ${build.status}\n${build.stderr}\n${build.stdout}`);
      if (expected !== 0) {
        assert.ok(!fs.existsSync(ko), "a refused build must not write a module");
        if (spec.refused) assert.match(build.stderr, new RegExp(spec.refused), "the refusal names the symbol");
        return;
      }
      assert.ok(fs.existsSync(ko));
      assert.match(build.stdout, /proven: [1-9]\d* function\(s\)/, "the byte proof ran");
      if (spec.summary) assert.match(build.stdout, new RegExp(spec.summary), "the build's summary");
      const script = path.join(out, `${modName}.check.sh`);
      fs.writeFileSync(script, `${spec.check}\n`);
      const orders = spec.module ? [["--preload", spec.module], ["--postload", spec.module]] : [[]];
      for (const order of orders) {
        const warn = spec.expectWarn ? ["--expect-warn", spec.expectWarn] : [];
        const vm = runKlp(["vm-test", ko, ...targetArgs(target), ...earlier, ...order, ...warn, "--check", script], VM_TIMEOUT);
        assert.equal(vm.status, 0, `klp vm-test ${order.join(" ")} exit ${vm.status}\n${vm.stdout}\n${vm.stderr}`);
        // Late patching: the module (or the dependency the fix is in: fat under vfat) arrives after
        // the livepatch and is patched then; had the livepatch depended on it, it would have been
        // loaded before the livepatch, and this boot would not be late.
        if (order[0] === "--postload") assert.match(vm.stdout, /postload \S+.*loaded and patched by the livepatch/, `not patched late:\n${vm.stdout}`);
      }
      // Negative control: the same boot and check with an unrelated livepatch must fail in the check.
      const control = controlModule(target, name);
      const neg = runKlp(["vm-test", control, ...targetArgs(target), ...(spec.needs ?? []).flatMap((m) => ["--preload", m]),
        ...(spec.module ? ["--preload", spec.module] : []), "--check", script, "--json"], VM_TIMEOUT);
      assert.equal(neg.status, 1, `negative control: the check passed without the fix\n${neg.stdout}\n${neg.stderr}`);
      const report = JSON.parse(neg.stdout) as { steps: { id: string; status: string }[] };
      assert.ok(report.steps.some((s) => s.id.startsWith("check:") && s.status === "fail"), `negative control failed before the check: ${neg.stdout}`);
    });
  }
}
