// End to end on kernels klpkit builds itself from Debian's 6.12 source (scripts/own-kernel.sh),
// given as built trees (`--source TREE`): Clang (clang-19, kCFI) and, with KLP_E2E_OWN=gcc, its GCC
// twin of the same config; test/e2e-own and the cases of test/e2e and test/e2e-6.12 its small
// config builds (test/e2e-own/SUITE.json). The cases run as test/support/e2e-suite.ts describes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OWN_SUITES, casesOf, e2eTests, ownFile, wantedOwn } from "./support/e2e-suite.js";

const cases = casesOf(OWN_SUITES);

test("own kernels: at least 12 VM-verified cases and a refusal on each compiler's build of the same tree", () => {
  for (const [label, own] of Object.entries(ownFile.compilers).filter(([l]) => wantedOwn(l))) {
    const mine = cases.filter((c) => c.suite.own === own && !c.suite.skip?.[c.name]);
    const verified = mine.filter((c) => c.spec.check).map((c) => c.name);
    assert.ok(verified.length >= 12, `${label}: ${verified.join(", ")}`);
    assert.ok(mine.some((c) => c.spec.buildExit === 1), `${label}: no refusal`);
    console.log(`${label} (${own}): ${verified.length} VM-verified cases, ${mine.length - verified.length} refused or bad input`);
  }
});

e2eTests(cases);
