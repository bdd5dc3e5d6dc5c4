// `klp diff` on real objects of the Debian 6.1 kernel: every test/kernel/patches/NAME.patch is
// applied to the cached source tree, the objects named in NAME.json are built before and after,
// and the diff must give exactly the expected exit code and function sets. The expectations were
// established by hand from objdump/readelf (each JSON's "why"), not from the tool.
// All kernel object building of the suite for patches lives in this file (the tree is shared).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { diffJson, repoRoot, runKlp } from "./support/klp.js";
import * as E from "./support/elf64.js";
import { buildPair, kernelTree } from "./support/kernel.js";

interface Expectation {
  exit: number;
  changed: string[];
  new: string[];
  refusedSymbols: string[];
}

interface PatchCase extends Expectation {
  objects: string[];
  why: string;
  /** Overrides for single objects of a multi-object patch. */
  perObject?: Record<string, Partial<Expectation>>;
  /**
   * Entries OUT.o must hold in tables whose entries do not point into their function
   * (`__dyndbg` descriptors point at strings), by section; sizes in ENTRY_SIZES_BY_CONTENT.
   */
  carriedEntries?: Record<string, number>;
}

const patchDir = path.join(repoRoot, "test/kernel/patches");

function loadCases(): { name: string; patch: string; spec: PatchCase }[] {
  return fs.readdirSync(patchDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const name = f.slice(0, -".json".length);
      const spec = JSON.parse(fs.readFileSync(path.join(patchDir, f), "utf8")) as PatchCase;
      return { name, patch: path.join(patchDir, `${name}.patch`), spec };
    });
}

const sorted = (xs: readonly string[]) => [...xs].sort();

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}


/** Relocations per relocation section, from `readelf -rW`: offset and target (symbol or section name). */
function relocations(file: string): Map<string, { offset: number; target: string }[]> {
  const out = run("readelf", ["-rW", file]).stdout;
  const bySection = new Map<string, { offset: number; target: string }[]>();
  let current: { offset: number; target: string }[] | null = null;
  for (const line of out.split("\n")) {
    const head = /^Relocation section '([^']+)'/.exec(line);
    if (head) {
      current = [];
      bySection.set(head[1]!, current);
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (current && f.length >= 5 && /^[0-9a-f]{16}$/.test(f[0]!)) current.push({ offset: parseInt(f[0]!, 16), target: f[4]! });
  }
  return bySection;
}

/** Defined FUNC symbols of an object, from `readelf -sW`. */
function definedFunctions(file: string): string[] {
  return run("readelf", ["-sW", file]).stdout.split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[3] === "FUNC" && f[6] !== "UND")
    .map((f) => f[7]!);
}

// Special sections whose entries each belong to the function their first field points into
// (entry sizes for x86-64 6.1, see livepatch-facts.md).
const SPECIAL_ENTRY_SIZES: Record<string, number> = {
  "__jump_table": 16, "__bug_table": 12, "__ex_table": 12, ".static_call_sites": 8, ".altinstructions": 12,
  ".parainstructions": 16, ".return_sites": 4, ".retpoline_sites": 4, "__mcount_loc": 8, ".orc_unwind_ip": 4,
  ".smp_locks": 4,
};

/** Tables whose entries are told apart by size only (struct _ddebug, x86-64 6.1 with jump labels). */
const ENTRY_SIZES_BY_CONTENT: Record<string, number> = { "__dyndbg": 56 };

function sectionSize(file: string, section: string): number {
  return E.sections(fs.readFileSync(file)).find((s) => s.name === section)?.size ?? 0;
}

/** Per special section, how many entries point into one of `owners` (or into anything, if null). */
function specialEntries(file: string, owners: Set<string> | null): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [rela, relocs] of relocations(file)) {
    const section = rela.replace(/^\.rela/, "");
    const size = SPECIAL_ENTRY_SIZES[section];
    if (size === undefined) continue;
    const n = relocs.filter((r) => r.offset % size === 0 && (owners === null || owners.has(r.target))).length;
    if (n > 0) counts[section] = n;
  }
  return counts;
}

const cases = loadCases();
/** Special sections whose entries some case's OUT.o carried (checked entry by entry above). */
const sectionsCarried = new Set<string>();

test("test/kernel/patches: every patch has its expectation and the kinds we need", () => {
  const patches = fs.readdirSync(patchDir).filter((f) => f.endsWith(".patch")).map((f) => f.slice(0, -".patch".length));
  assert.deepEqual(sorted(patches), cases.map((c) => c.name));
  assert.ok(cases.length >= 7, `only ${cases.length} kernel patch cases`);
  for (const { name, spec } of cases) {
    assert.ok(spec.objects.length > 0, `${name}: no objects`);
    assert.ok([0, 1, 3].includes(spec.exit), `${name}: exit ${spec.exit}`);
    assert.ok(spec.why.length > 0, `${name}: no "why"`);
  }
});

test("kernel tree", () => {
  const tree = kernelTree();
  assert.ok(fs.existsSync(path.join(tree, ".config")), `${tree}/.config missing`);
});

for (const { name, patch, spec } of cases) {
  test(`kernel patch ${name}`, async (t) => {
    const pair = buildPair(patch, spec.objects);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `klp-kernel-${name}-`));
    try {
      for (const [i, obj] of spec.objects.entries()) {
        const want: Expectation = { ...spec, ...(spec.perObject?.[obj] ?? {}) };
        const orig = pair.orig[i]!;
        const patched = pair.patched[i]!;

        await t.test(`${obj}: --json`, () => {
          const { run: r, json } = diffJson(orig, patched);
          const ctx = `klp diff ${orig} ${patched} --json\nstderr: ${r.stderr.trim()}\nstdout: ${r.stdout.slice(0, 2000)}`;
          assert.equal(r.status, want.exit, `exit code\n${ctx}`);
          assert.ok(json, `no JSON report\n${ctx}`);
          for (const key of ["changed", "new", "refused"] as const) {
            assert.ok(Array.isArray(json[key]), `JSON report has no "${key}" array\n${ctx}`);
          }
          assert.deepEqual(sorted(json.changed), sorted(want.changed), `changed\n${ctx}`);
          assert.deepEqual(sorted(json.new), sorted(want.new), `new\n${ctx}`);
          for (const entry of json.refused) {
            assert.equal(typeof entry.symbol, "string", `refused entry without symbol: ${JSON.stringify(entry)}`);
            assert.ok(entry.symbol.length > 0, `refused entry without symbol: ${JSON.stringify(entry)}`);
            assert.equal(typeof entry.reason, "string", `refused entry without reason: ${JSON.stringify(entry)}`);
            assert.ok(entry.reason.length > 0, `refused entry without reason: ${JSON.stringify(entry)}`);
          }
          assert.deepEqual(sorted([...new Set(json.refused.map((e) => e.symbol))]), sorted(want.refusedSymbols), `refused\n${ctx}`);
        });

        await t.test(`${obj}: -o OUT.o`, () => {
          const out = path.join(tmp, `${path.basename(obj, ".o")}.${i}.klp.o`);
          const r = runKlp(["diff", orig, patched, "-o", out]);
          const ctx = `klp diff ${orig} ${patched} -o ${out}\nstderr: ${r.stderr.trim()}`;
          assert.equal(r.status, want.exit, `exit code\n${ctx}`);
          if (want.exit !== 0) {
            assert.equal(fs.existsSync(out), false, `${out} written although klp exited ${r.status}`);
            return;
          }
          assert.ok(fs.existsSync(out), `${out} not written\n${ctx}`);
          const re = run("readelf", ["-a", out]);
          assert.equal(re.status, 0, `readelf -a ${out} failed`);
          assert.equal(re.stderr, "", `readelf -a ${out} warns`);
          const linked = path.join(tmp, `${path.basename(obj, ".o")}.${i}.ld.o`);
          const ld = run("ld", ["-r", "-o", linked, out]);
          assert.equal(ld.status, 0, `ld -r -o ${linked} ${out} failed:\n${ld.stderr}`);

          // What OUT.o must carry, derived from PATCHED and the expected function sets: those
          // functions, their .cold parts, and exactly the special-section entries pointing into them.
          const carried = [...want.changed, ...want.new];
          const patchedFuncs = definedFunctions(patched);
          const colds = patchedFuncs.filter((f) => carried.some((c) => f.startsWith(`${c}.cold`)));
          assert.deepEqual(sorted(definedFunctions(out)), sorted([...carried, ...colds]), `functions defined in ${out}`);
          const owners = new Set<string>([...carried, ...colds]);
          for (const c of carried) {
            owners.add(`.text.${c}`);
            owners.add(`.text.unlikely.${c}`);
          }
          const carriedEntries = specialEntries(out, null);
          assert.deepEqual(carriedEntries, specialEntries(patched, owners),
            `special-section entries in ${out} (by section) vs those of the carried functions in ${patched}`);
          for (const section of Object.keys(carriedEntries)) sectionsCarried.add(section);
          for (const [section, n] of Object.entries(spec.carriedEntries ?? {})) {
            assert.equal(sectionSize(out, section), n * ENTRY_SIZES_BY_CONTENT[section]!, `${n} ${section} entries in ${out}`);
            sectionsCarried.add(section);
          }
        });
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test("the kernel patches carry entries of every special section with per-function entries", () => {
  assert.deepEqual(sorted([...sectionsCarried]), sorted([...Object.keys(SPECIAL_ENTRY_SIZES), ...Object.keys(ENTRY_SIZES_BY_CONTENT)]),
    "a special section no kernel patch carries is not tested against real objects");
});
