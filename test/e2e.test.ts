// End to end: every test/e2e/NAME.patch goes through `klp build` against the Debian 6.1
// kernel, and the module is loaded into that kernel under qemu by `klp vm-test`, which runs
// the case's check inside the VM. A module case is booted twice: the module loaded before the
// livepatch, and after it (late module patching). An unsafe patch must be refused, writing nothing.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { repoRoot, runKlp } from "./support/klp.js";

interface E2eCase {
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
  why: string;
}

// test/e2e: one case per klpkit feature; test/fixes: fixes written the way stable fixes are.
const dirs = ["test/e2e", "test/fixes"].map((d) => path.join(repoRoot, d)).filter((d) => fs.existsSync(d));
const out = fs.mkdtempSync(path.join(os.tmpdir(), "klp-e2e-"));
const cases = dirs.flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => {
  const name = f.slice(0, -5);
  return { name, dir, patch: path.join(dir, `${name}.patch`), spec: JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as E2eCase };
}));

test("test/fixes: at least 15 fixes across kernel/, mm/, fs/, net/, security/ and two modules", () => {
  const fixes = cases.filter((c) => c.dir.endsWith(path.join("test", "fixes")));
  const files = fixes.map((c) => /^\+\+\+ b\/(\S+)/m.exec(fs.readFileSync(c.patch, "utf8"))?.[1] ?? "");
  assert.ok(fixes.length >= 15, `${fixes.length} fixes`);
  for (const top of ["kernel/", "mm/", "fs/", "net/", "security/"]) {
    assert.ok(files.some((f) => f.startsWith(top)), `no fix in ${top}`);
  }
  const modules = new Set(fixes.map((c) => c.spec.module).filter(Boolean));
  assert.ok(modules.size >= 2, `fixes in modules: ${[...modules].join(", ")}`);
});

const BUILD_TIMEOUT = 600_000;
const VM_TIMEOUT = 300_000;

for (const { name, dir, patch, spec } of cases) {
  test(`e2e ${name}: ${spec.why}`, { timeout: BUILD_TIMEOUT + 2 * VM_TIMEOUT }, () => {
    const modName = `klpe2e_${name.replace(/-/g, "_")}`;
    const ko = path.join(out, `${modName}.ko`);
    const earlier: string[] = (spec.needs ?? []).flatMap((m) => ["--preload", m]);
    if (spec.before) {
      const baseName = `klpe2e_${name.replace(/-/g, "_")}_base`;
      const base = runKlp(["build", "--patch", path.join(dir, `${spec.before}.patch`), "-o", out, "--name", baseName], BUILD_TIMEOUT);
      assert.equal(base.status, 0, `klp build of the earlier patch: ${base.stderr}`);
      earlier.push("--preload", path.join(out, `${baseName}.ko`));
    }
    const build = runKlp(["build", "--patch", patch, "-o", out, "--name", modName, ...(spec.replace ? ["--replace"] : [])], BUILD_TIMEOUT);
    const expected = spec.buildExit ?? 0;
    assert.equal(build.status, expected, `klp build exit ${build.status}\n${build.stderr}\n${build.stdout}`);
    if (expected !== 0) {
      assert.ok(!fs.existsSync(ko), "a refused build must not write a module");
      if (spec.refused) assert.match(build.stderr, new RegExp(spec.refused), "the refusal names the symbol");
      return;
    }
    assert.ok(fs.existsSync(ko));
    const script = path.join(out, `${name}.check.sh`);
    fs.writeFileSync(script, `${spec.check}\n`);
    const orders = spec.module ? [["--preload", spec.module], ["--postload", spec.module]] : [[]];
    for (const order of orders) {
      const warn = spec.expectWarn ? ["--expect-warn", spec.expectWarn] : [];
      const vm = runKlp(["vm-test", ko, ...earlier, ...order, ...warn, "--check", script], VM_TIMEOUT);
      assert.equal(vm.status, 0, `klp vm-test ${order.join(" ")} exit ${vm.status}\n${vm.stdout}\n${vm.stderr}`);
    }
  });
}
