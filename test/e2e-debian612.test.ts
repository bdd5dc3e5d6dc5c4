// End to end on Debian 12's 6.12 kernel: test/e2e-6.12, and the cases of test/e2e and test/fixes
// whose patches apply to its tree exactly (test/e2e-6.12/SUITE.json lists the exceptions).
// The cases run as test/support/e2e-suite.ts describes.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/klp.js";
import { DEBIAN612_SUITES, K612, applies, casesOf, e2eTests } from "./support/e2e-suite.js";

const cases = casesOf(DEBIAN612_SUITES);

test("6.12: at least 12 VM-verified e2e cases and 12 fixes apply exactly (reused or ported)", () => {
  const on612 = cases.filter((c) => c.kernel === K612 && c.spec.check && !c.suite.skip?.[c.name] && (!c.suite.whereApplies || applies(c.patch, c.target)));
  const isFix = (name: string) => fs.existsSync(path.join(repoRoot, "test/fixes", `${name}.json`));
  const fixes = on612.filter((c) => isFix(c.name)).map((c) => c.name);
  const e2e = on612.filter((c) => !isFix(c.name)).map((c) => c.name);
  assert.ok(e2e.length >= 12, `e2e cases on 6.12: ${e2e.join(", ")}`);
  assert.ok(fixes.length >= 12, `fixes on 6.12: ${fixes.join(", ")}`);
  console.log(`6.12: ${e2e.length} e2e cases, ${fixes.length} fixes`);
});

e2eTests(cases);
