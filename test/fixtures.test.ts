// `klp diff` on small C fixtures, one per livepatch hazard (test/fixtures/CASE/{orig,patched}.c),
// each compiled at test time with kernel-like flags by gcc-12 and by clang-14 (test/support/cc.ts).
// test/fixtures/CASE/expect.json holds the expected exit code and function sets, established by
// reading the compiled objects (`objdump -dr`, `readelf -sW`), not by running the tool; its "why"
// says what differs. "gcc"/"clang" override fields where the compilers legitimately differ.
// A case reproducing another kernel's conventions says how it is built ("build": flags, compiler,
// objtool of Debian's kbuild packages), which `klp diff` options it runs with ("args"), the entry
// size of each special table whose carried entries are checked ("tables"), and which carried
// functions bring a __pfx_/__cfi_ preamble ("prefixed").
// Every case is built again for aarch64 (arm64 6.12's flags, Debian's cross gcc-12 and clang-16)
// with the same expectations, "aarch64" overriding them where arm64 code legitimately differs,
// or skipping a case whose hazard does not exist on arm64 ("skip": why, e.g. x86's alt_instr eras).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { BINUTILS, compileFixture, compilersFor, FIXTURE_ARCHES, type Compiler, type FixtureArch, type FixtureBuild } from "./support/cc.js";
import { diffJson, repoRoot, runKlp, type KlpRun } from "./support/klp.js";
import { parentOf, run, specialEntries, symbols, type Sym } from "./support/objects.js";

interface Expectation {
  exit: number;
  changed: string[];
  new: string[];
  /** Symbols named by the refusals. */
  refused: string[];
  /** Checked only when given. */
  removed?: string[];
  /** Changed functions and data left out on purpose with KLPKIT_IGNORE_*; checked only when given. */
  ignored?: string[];
  /**
   * Exit 0 only: the data OBJECTs OUT.o defines (new data and fresh copies of once-flags,
   * `__func__` etc.); existing data must stay a reference to the running kernel's. Default [].
   */
  outputData?: string[];
  /** Exit 0 only: names OUT.o must reference as undefined (the running kernel's names). */
  outputRefs?: string[];
  /** Exit 0 only: carried functions whose __pfx_/__cfi_ preamble OUT.o must carry in front of them. */
  prefixed?: string[];
}

/** How a case is built and judged on aarch64, where it differs from x86-64. */
interface Aarch64Spec extends Partial<Expectation> {
  /** Why the case does not apply to arm64 (its hazard is x86's only). */
  skip?: string;
  /** What the aarch64 objects show where the expectations differ from x86-64's. */
  why?: string;
  /** Replaces the x86-64 "build" (its flags, compilers and objtool are x86's). */
  build?: FixtureBuild;
  tables?: Record<string, number>;
  gcc?: Partial<Expectation>;
  clang?: Partial<Expectation>;
}

interface CaseSpec extends Expectation {
  why: string;
  build?: FixtureBuild;
  aarch64?: Aarch64Spec;
  /** More `klp diff` arguments (e.g. --ignore-init-changes). */
  args?: string[];
  /** Special tables whose entries of carried functions OUT.o must hold, with their entry size. */
  tables?: Record<string, number>;
  gcc?: Partial<Expectation>;
  clang?: Partial<Expectation>;
}

const fixturesDir = path.join(repoRoot, "test/fixtures");

function loadCases(): { name: string; dir: string; spec: CaseSpec }[] {
  return fs.readdirSync(fixturesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(fixturesDir, d.name, "expect.json")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = path.join(fixturesDir, name);
      const spec = JSON.parse(fs.readFileSync(path.join(dir, "expect.json"), "utf8")) as CaseSpec;
      return { name, dir, spec };
    });
}

function expectationFor(spec: CaseSpec, cc: Compiler, arch: FixtureArch): Expectation {
  const a64 = arch === "aarch64" ? spec.aarch64 : undefined;
  const { exit, changed, new: added, refused, removed, ignored, outputData, outputRefs, prefixed } =
    { ...spec, ...(spec[cc] ?? {}), ...(a64 ?? {}), ...(a64?.[cc] ?? {}) };
  const want: Expectation = { exit, changed, new: added, refused };
  if (prefixed !== undefined) want.prefixed = prefixed;
  if (removed !== undefined) want.removed = removed;
  if (ignored !== undefined) want.ignored = ignored;
  if (outputData !== undefined) want.outputData = outputData;
  if (outputRefs !== undefined) want.outputRefs = outputRefs;
  return want;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/** Entry sizes of the tables every case checks (Linux 6.1 x86-64), unless "tables" says otherwise. */
const DEFAULT_TABLES: Record<string, number> = { "__bug_table": 12, "__jump_table": 16 };

/** Where `fn`'s preamble starts in its section, how long it is, and the function's distance from it. */
function preamble(syms: Sym[], fn: string): { name: string; start: number; size: number; distance: number } | undefined {
  const f = syms.find((s) => s.name === fn && s.type === "FUNC" && s.section !== "UND");
  const p = f && syms.find((s) => /^__(pfx|cfi)_/.test(s.name) && parentOf(s.name) === fn && s.section === f.section);
  return f && p ? { name: p.name, start: p.value, size: p.size, distance: f.value - p.value } : undefined;
}

function explain(r: KlpRun): string {
  return `\n--- klp stdout:\n${r.stdout.slice(0, 4000)}\n--- klp stderr:\n${r.stderr.slice(0, 4000)}`;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "klp-fixtures-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const cases = loadCases();

test("fixture cases are present and well-formed", () => {
  assert.ok(cases.length >= 20, `only ${cases.length} fixture cases under ${fixturesDir}`);
  for (const { name, dir, spec } of cases) {
    assert.ok(fs.existsSync(path.join(dir, "orig.c")) && fs.existsSync(path.join(dir, "patched.c")), `${name}: orig.c/patched.c`);
    assert.ok([0, 1, 3].includes(spec.exit), `${name}: exit ${spec.exit}`);
    assert.ok(Array.isArray(spec.changed) && Array.isArray(spec.new) && Array.isArray(spec.refused), `${name}: lists`);
    assert.ok(typeof spec.why === "string" && spec.why.length > 0, `${name}: why`);
    assert.ok(spec.aarch64?.skip === undefined || spec.aarch64.skip.length > 0, `${name}: aarch64.skip needs a reason`);
  }
});

/** The case as built for `arch`: its build, its tables, and why it is skipped, if it is. */
function forArch(spec: CaseSpec, arch: FixtureArch): { build?: FixtureBuild; tables?: Record<string, number>; skip?: string } {
  if (arch === "x86_64") return { build: spec.build, tables: spec.tables };
  const a = spec.aarch64;
  return { build: a?.build ?? spec.build, tables: a?.tables ?? spec.tables, skip: a?.skip };
}

for (const arch of FIXTURE_ARCHES) for (const { name, dir, spec } of cases) {
  const { build, tables, skip } = forArch(spec, arch);
  const { objdump: objdumpCmd, ld: ldCmd } = BINUTILS[arch];
  describe(arch === "x86_64" ? name : `${name} [aarch64]`, () => {
    for (const cc of compilersFor(build)) {
      test(cc, skip ? { skip: `x86-only: ${skip}` } : {}, () => {
        const want = expectationFor(spec, cc, arch);
        const out = fs.mkdtempSync(path.join(work, `${name}-${cc}-`));
        const orig = path.join(out, "orig.o");
        const patched = path.join(out, "patched.o");
        assert.equal(compileFixture(path.join(dir, "orig.c"), orig, cc, build, arch), "", "orig.c: compiler warnings");
        assert.equal(compileFixture(path.join(dir, "patched.c"), patched, cc, build, arch), "", "patched.c: compiler warnings");
        const args = spec.args ?? [];

        const { run: r, json } = diffJson(orig, patched, args);
        assert.equal(r.status, want.exit, `exit code${explain(r)}`);
        assert.ok(json, `--json output is not JSON${explain(r)}`);
        assert.deepEqual(sorted(json.changed), sorted(want.changed), `changed${explain(r)}`);
        assert.deepEqual(sorted(json.new), sorted(want.new), `new${explain(r)}`);
        assert.deepEqual(sorted([...new Set(json.refused.map((x) => x.symbol))]), sorted(want.refused), `refused${explain(r)}`);
        for (const x of json.refused) assert.ok(x.reason && x.reason.length > 0, `refusal of ${x.symbol} has no reason`);
        if (want.ignored !== undefined) {
          assert.deepEqual(sorted((json["ignored"] as string[] | undefined) ?? []), sorted(want.ignored), `ignored${explain(r)}`);
        }
        if (want.removed !== undefined) {
          assert.ok(Array.isArray(json["removed"]), `no "removed" list${explain(r)}`);
          assert.deepEqual(sorted(json["removed"] as string[]), sorted(want.removed), `removed${explain(r)}`);
        }

        // The same diff writing OUT.o: written exactly when there is something to patch.
        const outObj = path.join(out, "OUT.o");
        const w = runKlp(["diff", orig, patched, "-o", outObj, ...args]);
        assert.equal(w.status, want.exit, `exit code with -o${explain(w)}`);
        if (want.exit !== 0) {
          assert.ok(!fs.existsSync(outObj), `exit ${want.exit} but ${outObj} was written`);
          return;
        }
        assert.ok(fs.existsSync(outObj), `exit 0 but no OUT.o${explain(w)}`);
        const readelf = run("readelf", ["-a", "-W", outObj]);
        assert.equal(readelf.stderr, "", "readelf -a OUT.o complains");
        assert.equal(readelf.status, 0, "readelf -a OUT.o");
        const objdump = run(objdumpCmd, ["-dr", outObj]);
        assert.equal(objdump.status, 0, `objdump -dr OUT.o failed:\n${objdump.stderr}`);
        const ld = run(ldCmd, ["-r", "-o", path.join(out, "linked.o"), outObj]);
        assert.equal(ld.stderr, "", "ld -r OUT.o complains");
        assert.equal(ld.status, 0, "ld -r OUT.o");

        // OUT.o carries exactly the changed and new functions (with their .cold parts) ...
        const outSyms = symbols(outObj);
        const carried = outSyms.filter((s) => s.type === "FUNC" && s.section !== "UND").map((s) => s.name);
        assert.deepEqual(sorted([...new Set(carried.map(parentOf))]), sorted([...want.changed, ...want.new]), "functions defined in OUT.o");
        // ... only new data and fresh copies (existing data stays a reference) ...
        const data = outSyms.filter((s) => s.type === "OBJECT" && s.section !== "UND").map((s) => s.name);
        assert.deepEqual(sorted(data), sorted(want.outputData ?? []), "data objects defined in OUT.o");
        // ... referring to the running kernel by ORIG's names: every undefined symbol is defined in
        // ORIG or is external in PATCHED (a PATCHED-only local name would resolve to nothing, or
        // to another variable of the same name) ...
        const origSyms = symbols(orig);
        const patchedSyms = symbols(patched);
        const undef = outSyms.filter((s) => s.section === "UND" && s.name !== "").map((s) => s.name);
        const dangling = undef.filter((n) =>
          !origSyms.some((s) => s.name === n && s.section !== "UND" && s.type !== "SECTION" && s.type !== "FILE") &&
          !patchedSyms.some((s) => s.name === n && s.section === "UND"));
        assert.deepEqual(dangling, [], "undefined symbols of OUT.o unknown to the running kernel");
        for (const n of want.outputRefs ?? []) assert.ok(undef.includes(n), `OUT.o does not reference ${n} (undefined: ${undef.join(", ")})`);
        // ... and PATCHED's special-table entries of those functions (bug entries with PATCHED's
        // lines and flags, jump entries with the running kernel's key, alternatives …) ...
        const carriedSet = new Set(carried.map(parentOf));
        for (const [section, size] of Object.entries({ ...DEFAULT_TABLES, ...tables })) {
          const wantEntries = specialEntries(patched, section, size).filter((e) => carriedSet.has(e.split(" ")[0]!));
          assert.deepEqual(specialEntries(outObj, section, size), wantEntries, `${section} entries in OUT.o`);
        }
        // ... with each function's preamble in front of it, at PATCHED's distance ...
        for (const fn of want.prefixed ?? []) {
          const inPatched = preamble(patchedSyms, fn), inOut = preamble(outSyms, fn);
          assert.ok(inPatched, `PATCHED has no __pfx_/__cfi_ symbol for ${fn}`);
          assert.deepEqual(inOut, { ...inPatched, start: 0 }, `preamble of ${fn} in OUT.o (the section must start at it)`);
        }
        // ... and nothing that would export, initialise or tear down from the livepatch module.
        const outSections = run("readelf", ["-SW", outObj]).stdout.split("\n")
          .map((l) => /^\s*\[\s*\d+\]\s+(\S+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
        const forbidden = outSections.filter((n) => /^(___ksymtab|__ksymtab|\.export_symbol|\.initcall|\.exitcall|\.init\.|\.exit\.)/.test(n));
        assert.deepEqual(forbidden, [], "export/init/exit sections in OUT.o");
      });
    }
  });
}

test("bad input: a C source instead of an object is exit 2 and writes nothing", () => {
  const outObj = path.join(work, "bad-OUT.o");
  const src = path.join(fixturesDir, "identical", "orig.c");
  const r = runKlp(["diff", src, src, "-o", outObj]);
  assert.equal(r.status, 2, explain(r));
  assert.ok(r.stderr.trim().length > 0, "no message on stderr");
  assert.ok(!fs.existsSync(outObj), "OUT.o written for bad input");
});
