// End to end on Debian 12's default kernel (6.1.0-56-amd64): test/e2e and test/fixes
// (test/exact and test/stable are in e2e-debian61-more). The cases run as
// test/support/e2e-suite.ts describes.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { DEBIAN61_SUITES, casesOf, e2eTests } from "./support/e2e-suite.js";

const cases = casesOf(DEBIAN61_SUITES);

test("test/fixes: at least 15 fixes across kernel/, mm/, fs/, net/, security/ and two modules", () => {
  const fixes = cases.filter((c) => c.suite.label === "fix");
  const files = fixes.map((c) => /^\+\+\+ b\/(\S+)/m.exec(fs.readFileSync(c.patch, "utf8"))?.[1] ?? "");
  assert.ok(fixes.length >= 15, `${fixes.length} fixes`);
  for (const top of ["kernel/", "mm/", "fs/", "net/", "security/"]) {
    assert.ok(files.some((f) => f.startsWith(top)), `no fix in ${top}`);
  }
  const modules = new Set(fixes.map((c) => c.spec.module).filter(Boolean));
  assert.ok(modules.size >= 2, `fixes in modules: ${[...modules].join(", ")}`);
});

e2eTests(cases);
