// `klp diff` on real arm64 kernel objects: Debian's 6.12 source with Debian's arm64 config,
// cross-built with Debian's aarch64-linux-gnu-gcc-12 (test/support/arm64-kernel.ts prepares
// the tree once and builds each object before and after a patch). The patches are the x86-64
// suites' own (test/kernel/patches, test/e2e, test/e2e-6.12) that apply to 6.12 and touch no
// x86 code; the expected functions were read off the arm64 objects (`aarch64-linux-gnu-objdump
// -dr` of both builds), not taken from the tool. Each OUT.o must hold exactly the changed and
// new functions, PATCHED's special-table entries of those functions (read with the layouts
// pahole finds in the tree), and survive the ELF round trip with aarch64 binutils.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { aarch64 } from "../src/arch/aarch64.js";
import { runDiff } from "../src/diff.js";
import type { Layouts } from "../src/object/layouts.js";
import { arm64Tree, buildArm64Pair } from "./support/arm64-kernel.js";
import { BINUTILS } from "./support/cc.js";
import { diffJson, repoRoot, runKlp } from "./support/klp.js";
import * as E from "./support/elf64.js";
import { parentOf, relocations, specialEntries, symbols } from "./support/objects.js";
import { assertRoundTrip } from "./support/roundtrip.js";

interface Arm64Case {
  /** Relative to test/. */
  readonly patch: string;
  readonly object: string;
  readonly exit: number;
  readonly changed: readonly string[];
  readonly new: readonly string[];
  readonly refused: readonly string[];
  /** Special tables OUT.o must hold (the carried functions have entries there). */
  readonly carries?: readonly string[];
  readonly why: string;
}

/** test/arm64/cases.json: the patches, their objects and the verdicts read off the objects. */
const CASES = JSON.parse(fs.readFileSync(path.join(repoRoot, "test/arm64/cases.json"), "utf8")) as
  readonly Arm64Case[];

/** The special tables of an arm64 6.12 object whose entries travel with their function. */
const TABLES: Record<string, string> = {
  __bug_table: "bug_entry", __ex_table: "exception_table_entry", __jump_table: "jump_entry",
  ".altinstructions": "alt_instr",
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), "klp-arm64-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const sorted = (xs: readonly string[]) => [...xs].sort();

/** Every relocation of `file` against a defined symbol lands inside that symbol's section. */
function assertRelocationsInside(file: string): void {
  const secs = E.sections(fs.readFileSync(file));
  const size = new Map(secs.map((x) => [x.name, x.size] as const));
  const syms = symbols(file);
  for (const [target, list] of relocations(file)) {
    for (const r of list) {
      const sym = syms.find((x) => x.name === r.target && x.section !== "UND");
      if (!sym) continue;
      const at = (sym.type === "SECTION" ? 0 : sym.value) + r.addend;
      const where = `${secs[target]?.name} +${r.offset}: ${r.target}${r.addend >= 0 ? "+" : ""}${r.addend}`;
      assert.ok(at >= 0 && at <= size.get(sym.section)!, `${where} lies outside ${sym.section}`);
    }
  }
}

const treeLayouts = (): Layouts => arm64Tree().layouts;

test("arm64 cases are present and well-formed", () => {
  assert.ok(CASES.length >= 10, `only ${CASES.length} cases in test/arm64/cases.json`);
  for (const c of CASES) {
    assert.ok(fs.existsSync(path.join(repoRoot, "test", c.patch)), `${c.patch} is missing`);
    assert.ok(c.why.length > 0 && [0, 1, 3].includes(c.exit), `${c.patch}: why and exit`);
  }
});

test("the arm64 tree's special-section layouts (pahole) are shapes aarch64.knownLayouts() knows", () => {
  const l = treeLayouts();
  for (const struct of Object.values(TABLES)) {
    const probed = l.get(struct);
    assert.ok(probed, `the arm64 tree has no struct ${struct}`);
    const known = aarch64.knownLayouts(struct).find((k) => k.size === probed.size);
    const sizes = aarch64.knownLayouts(struct).map((k) => k.size).join(", ");
    assert.ok(known, `struct ${struct} is ${probed.size} bytes in the tree; aarch64-structs.ts knows ${sizes}`);
    for (const [name, f] of known.fields) assert.deepEqual(probed.fields.get(name), f, `struct ${struct} field ${name}`);
  }
  // arm64 has no ORC unwinder and no paravirt patch sites.
  assert.equal(l.get("orc_entry"), undefined);
  assert.equal(l.get("paravirt_patch_site"), undefined);
});

for (const c of CASES) {
  describe(`${path.basename(c.patch, ".patch")} (${c.object})`, () => {
    test(`klp diff: ${c.exit === 0 ? [...c.changed, ...c.new].join(", ") : `exit ${c.exit}`}`, () => {
      const pair = buildArm64Pair(path.join(repoRoot, "test", c.patch), [c.object]);
      const orig = pair.orig[0]!, patched = pair.patched[0]!;
      const out = path.join(work, `${path.basename(c.patch, ".patch")}.o`);
      const { run, json } = diffJson(orig, patched, ["-o", out]);
      const explain = `\n${run.stdout.slice(0, 3000)}\n${run.stderr.slice(0, 2000)}`;
      assert.equal(run.status, c.exit, `exit${explain}`);
      assert.ok(json, `--json output${explain}`);
      assert.equal(json["arch"], "AArch64");
      assert.deepEqual(sorted(json.changed), sorted(c.changed), `changed${explain}`);
      assert.deepEqual(sorted(json.new), sorted(c.new), `new${explain}`);
      assert.deepEqual(sorted([...new Set(json.refused.map((r) => r.symbol))]), sorted(c.refused), `refused${explain}`);

      // The target's layouts (klp build's way) give the same verdicts as the known shapes.
      const withLayouts = runDiff(orig, patched, { layouts: treeLayouts() });
      const names = (list: readonly { name: string }[]) => sorted(list.map((f) => f.name));
      assert.deepEqual(names(withLayouts.changed), sorted(c.changed), "changed, with the tree's layouts");
      assert.deepEqual(names(withLayouts.new), sorted(c.new), "new, with the tree's layouts");

      assertRoundTrip(orig, work, BINUTILS.aarch64);
      if (c.exit !== 0) {
        assert.ok(!fs.existsSync(out), `exit ${c.exit} but ${out} was written`);
        return;
      }
      assertRoundTrip(out, work, BINUTILS.aarch64);
      const defined = symbols(out).filter((s) => s.type === "FUNC" && s.section !== "UND");
      const carried = new Set(defined.map((s) => parentOf(s.name)));
      assert.deepEqual(sorted([...carried]), sorted([...c.changed, ...c.new]), "functions defined in OUT.o");
      const l = treeLayouts();
      for (const [section, struct] of Object.entries(TABLES)) {
        const size = l.get(struct)!.size;
        const want = specialEntries(patched, section, size).filter((e) => carried.has(e.split(" ")[0]!));
        assert.deepEqual(specialEntries(out, section, size), want, `${section} entries in OUT.o`);
        if (c.carries?.includes(section)) assert.ok(want.length > 0, `the case should carry ${section} entries`);
      }
      assertRelocationsInside(out);
      // The ftrace entry travels: two NOPs before each carried function, recorded as on arm64.
      const ftrace = specialEntries(out, "__patchable_function_entries", 8);
      assert.ok(ftrace.length >= carried.size, "__patchable_function_entries");
    });
  });
}

describe("klp build --arch arm64 --emit-objects-only", () => {
  test("writes the livepatch object of each patched object, as klp diff does", () => {
    const dir = fs.mkdtempSync(path.join(work, "build-"));
    const patch = path.join(repoRoot, "test/kernel/patches/proc-cmdline.patch");
    const r = runKlp(["build", "--arch", "arm64", "--emit-objects-only", "--patch", patch, "-o", dir, "--json"], 900_000);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { objects: { object: string; changed: string[]; output: string }[] };
    assert.deepEqual(out.objects.map((o) => [o.object, o.changed]), [["fs/proc/cmdline.o", ["cmdline_proc_show"]]]);
    const file = path.join(dir, "fs_proc_cmdline.klp.o");
    assert.equal(out.objects[0]!.output, file);
    assert.equal(E.ehdr(fs.readFileSync(file), "e_machine"), E.EM_AARCH64);
    assertRoundTrip(file, work, BINUTILS.aarch64);
  });
  test("a refused patch is exit 1 and writes nothing", () => {
    const dir = fs.mkdtempSync(path.join(work, "build-"));
    const patch = path.join(repoRoot, "test/kernel/patches/pipe-data-init.patch");
    const r = runKlp(["build", "--arch", "arm64", "--emit-objects-only", "--patch", patch, "-o", dir], 900_000);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /pipe_max_size/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
  test("--arch arm64 without --emit-objects-only is bad input: there is no arm64 livepatch kernel", () => {
    const r = runKlp(["build", "--arch", "arm64", "--patch", path.join(repoRoot, "test/kernel/patches/proc-cmdline.patch")]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^klp: .*CONFIG_LIVEPATCH[^\n]*\n$/);
  });
});
