// `klp convert` on hand-made livepatches built against the default target (6.1.0-56-amd64) and
// booted with `klp vm-test`: a module that calls kallsyms_lookup_name and reads
// saved_command_line (neither exported) does not load as built — klp check says so, the VM
// shows "Unknown symbol" — and loads and works once converted; load_elf_binary (two in vmlinux)
// is refused without an annotation and, with KLPKIT_SYMPOS(load_elf_binary, vmlinux, 2), is the
// second one of the VM's /proc/kallsyms. Each VM check also runs on the other converted module,
// where it must fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { preparedTree } from "./support/kernel.js";
import { repoRoot, runKlp, type KlpRun } from "./support/klp.js";

interface Finding { kind: string; symbol: string }
interface CheckReport { verdict: string; findings: Finding[]; klpSymbols: string[] }
interface Converted { object: string; name: string; sympos: number; address: string; chosenBy: string }
interface ConvertReport { output: string; converted: Converted[]; exported: string[]; annotations: number }
interface VmReport { passed: boolean; steps: { id: string; status: string; detail: string }[] }

const FIXTURES = path.join(repoRoot, "test/convert");
const CHECKS = path.join(repoRoot, "test/vm");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-convert-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const ko = (name: string) => path.join(tmp, `${name}.ko`);
let release = "";
/**
 * Made here from the fixtures: klp_convert_first is klp_convert_sympos naming position 1 (the
 * VM's negative control); klp_convert_fat_first likewise, and klp_convert_fat_bare without
 * the annotation.
 */
const MODULES = ["klp_convert_call", "klp_convert_ambiguous", "klp_convert_sympos", "klp_convert_first",
  "klp_convert_fat", "klp_convert_fat_first", "klp_convert_fat_bare"];

/** Writes `to`.c: fixture `from`.c with `line` replaced (asserting it is there). */
function variant(from: string, to: string, line: string, by: string) {
  const src = fs.readFileSync(path.join(FIXTURES, `${from}.c`), "utf8");
  assert.ok(src.includes(line), `${from}.c has '${line}'`);
  fs.writeFileSync(path.join(tmp, `${to}.c`), src.replace(line, by));
}

before(() => {
  const tree = preparedTree();
  const target = JSON.parse(runKlp(["target", "--json"]).stdout) as { release: string; files: { symvers: string } };
  release = target.release;
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(tmp, f));
  // The frame of a hand-made livepatch, as klp check's fixtures write it.
  fs.copyFileSync(path.join(repoRoot, "test/check/handmade.h"), path.join(tmp, "handmade.h"));
  variant("klp_convert_sympos", "klp_convert_first", "KLPKIT_SYMPOS(load_elf_binary, vmlinux, 2);", "KLPKIT_SYMPOS(load_elf_binary, vmlinux, 1);");
  variant("klp_convert_fat", "klp_convert_fat_first", "KLPKIT_SYMPOS(init_once, fat, 2);", "KLPKIT_SYMPOS(init_once, fat, 1);");
  variant("klp_convert_fat", "klp_convert_fat_bare", "KLPKIT_SYMPOS(init_once, fat, 2);", "");
  fs.writeFileSync(path.join(tmp, "Kbuild"), `ccflags-y += -I$(src) -I${path.join(repoRoot, "include")}\nobj-m := ${MODULES.map((m) => `${m}.o`).join(" ")}\n`);
  // KBUILD_MODPOST_WARN: the modules refer to symbols no export provides; that is the point.
  const r = spawnSync("nice", ["make", "-C", tree.dir, `M=${tmp}`, ...tree.makeVars, `KBUILD_EXTRA_SYMBOLS=${target.files.symvers}`, "KBUILD_MODPOST_WARN=1", "modules"],
    { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `building the fixtures failed:\n${`${r.stdout}${r.stderr}`.split("\n").slice(-30).join("\n")}`);
});

function convert(name: string, out = ko(`${name}_converted`)): { run: KlpRun; report?: ConvertReport } {
  const run = runKlp(["convert", ko(name), "-o", out, "--json"], 600_000);
  if (run.status !== 0) return { run };
  return { run, report: JSON.parse(run.stdout) as ConvertReport };
}

function check(file: string): { run: KlpRun; report: CheckReport } {
  const run = runKlp(["check", file, "--json"], 1_200_000);
  try { return { run, report: JSON.parse(run.stdout) as CheckReport }; } catch { return assert.fail(`klp check ${file}: no JSON (exit ${run.status}):\n${run.stderr}`); }
}

function vmTest(module: string, script: string, consoleFile: string, extra: string[] = []): { run: KlpRun; report: VmReport; console: string } {
  const run = runKlp(["vm-test", module, "--check", path.join(CHECKS, script), "--console", consoleFile, "--json", ...extra], 300_000);
  let report: VmReport;
  try { report = JSON.parse(run.stdout) as VmReport; } catch { return assert.fail(`klp vm-test: no JSON (exit ${run.status}):\n${run.stderr}`); }
  return { run, report, console: fs.existsSync(consoleFile) ? fs.readFileSync(consoleFile, "latin1") : "" };
}

const stepStatus = (r: VmReport, id: string) => r.steps.find((s) => s.id === id)?.status;

const sectionsAndSymbols = (file: string) => {
  const r = spawnSync("readelf", ["-SsW", file], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

test("klp check predicts that the unconverted module does not load: two unexported symbols", () => {
  const { run, report } = check(ko("klp_convert_call"));
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.symbol}`).sort(),
    ["unresolved kallsyms_lookup_name", "unresolved saved_command_line"]);
});

test("klp convert turns both into vmlinux klp relocations, and the result is safe for klp check", () => {
  const { run, report } = convert("klp_convert_call");
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(report!.converted.map((c) => `${c.object} ${c.name},${c.sympos} ${c.chosenBy}`).sort(),
    ["vmlinux kallsyms_lookup_name,0 unique", "vmlinux saved_command_line,0 unique"]);
  assert.ok(report!.exported.includes("klp_enable_patch"), report!.exported.join(" "));
  const elf = sectionsAndSymbols(ko("klp_convert_call_converted"));
  assert.match(elf, /\.klp\.rela\.vmlinux\.text\.unlikely|\.klp\.rela\.vmlinux\.text/);
  assert.match(elf, /\.klp\.sym\.vmlinux\.kallsyms_lookup_name,0/);
  const after = check(ko("klp_convert_call_converted"));
  assert.equal(after.run.status, 0, `${after.run.stdout}\n${after.run.stderr}`);
  assert.equal(after.report.verdict, "safe");
  assert.deepEqual(after.report.klpSymbols.sort(), [".klp.sym.vmlinux.kallsyms_lookup_name,0", ".klp.sym.vmlinux.saved_command_line,0"]);
});

test("an ambiguous name is refused without an annotation, naming both candidates; nothing is written", () => {
  const out = ko("klp_convert_ambiguous_converted");
  const { run } = convert("klp_convert_ambiguous", out);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /load_elf_binary: 2 symbols of that name in the target: vmlinux after \S+ 0x[0-9a-f]+ \(t, sympos 1\); vmlinux after \S+ 0x[0-9a-f]+ \(t, sympos 2\)/);
  assert.match(run.stderr, /KLPKIT_SYMPOS\(load_elf_binary, <object>, <sympos>\)/);
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith(".tmp")), []);
});

test("KLPKIT_SYMPOS picks the second load_elf_binary; the record is not in the output, which klp check calls safe", () => {
  assert.match(sectionsAndSymbols(ko("klp_convert_sympos")), /\.klpkit\.sympos/);
  const { run, report } = convert("klp_convert_sympos");
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(report!.converted.map((c) => `${c.object} ${c.name},${c.sympos} ${c.chosenBy}`), ["vmlinux load_elf_binary,2 KLPKIT_SYMPOS"]);
  assert.equal(report!.annotations, 1);
  const elf = sectionsAndSymbols(ko("klp_convert_sympos_converted"));
  assert.doesNotMatch(elf, /klpkit/);
  assert.match(elf, /\.klp\.sym\.vmlinux\.load_elf_binary,2/);
  const after = check(ko("klp_convert_sympos_converted"));
  assert.equal(after.run.status, 0, `${after.run.stdout}\n${after.run.stderr}`);
  assert.deepEqual(after.report.klpSymbols, [".klp.sym.vmlinux.load_elf_binary,2"]);
});

test("a module that would not load once converted is refused, and nothing is written", () => {
  // klp_convert_call built for the release before the target's: klp check's vermagic finding.
  const data = fs.readFileSync(ko("klp_convert_call"));
  const at = data.indexOf(Buffer.from(`vermagic=${release} `));
  assert.ok(at > 0, "the module's .modinfo holds its vermagic");
  const other = release.replace(/-(\d+)-/, (_, n: string) => `-${Number(n) - 1}-`);
  Buffer.from(`vermagic=${other} `).copy(data, at);
  fs.writeFileSync(ko("other_vermagic"), data);
  const out = ko("other_vermagic_converted");
  const { run } = convert("other_vermagic", out);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.ok(run.stderr.includes(`the converted module would not load on ${release} (1 finding(s)); nothing written`), run.stderr);
  assert.ok(run.stderr.includes(`is for ${other}, not ${release}`), run.stderr);
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith(".tmp")), []);
});

test("klp --help lists convert; klp convert --help says what it does and its exit codes", () => {
  assert.match(runKlp(["--help"]).stdout, /^ {2}convert /m);
  const help = runKlp(["convert", "--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: klp convert IN\.ko -o OUT\.ko/);
  assert.match(help.stdout, /KLPKIT_SYMPOS\(sym, object, pos\)/);
  assert.match(help.stdout, /exit: 0 written, 1 refused/);
});

test("bad input exits 2 with the path and the reason, and writes nothing", () => {
  const notKo = path.join(tmp, "not-a-module.ko");
  fs.writeFileSync(notKo, "not an ELF file\n");
  const cases: [string[], RegExp][] = [
    [["convert", path.join(tmp, "missing.ko"), "-o", ko("x")], /missing\.ko: no such file/],
    [["convert", notKo, "-o", ko("x")], /not-a-module\.ko: not an ELF file/],
    [["convert", ko("klp_convert_call")], /-o OUT\.ko is required/],
    [["convert", ko("klp_convert_call"), "-o", path.join(tmp, "no/such/dir/out.ko")], /out\.ko: cannot write output \(ENOENT\)/],
  ];
  for (const [args, message] of cases) {
    const run = runKlp(args, 600_000);
    assert.equal(run.status, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  }
  assert.equal(fs.existsSync(ko("x")), false);
});

test("in the VM: unconverted, insmod fails on the unknown symbols; converted, both modules load and work", () => {
  const raw = vmTest(ko("klp_convert_call"), "convert-call.sh", path.join(tmp, "raw.txt"));
  assert.notEqual(raw.run.status, 0);
  assert.equal(stepStatus(raw.report, "livepatch:load"), "fail");
  assert.match(raw.console, /Unknown symbol (kallsyms_lookup_name|saved_command_line)/);

  const call = vmTest(ko("klp_convert_call_converted"), "convert-call.sh", path.join(tmp, "call.txt"));
  assert.equal(call.run.status, 0, call.console.split("\n").slice(-40).join("\n"));
  assert.equal(stepStatus(call.report, "check:1"), "pass");

  const sympos = vmTest(ko("klp_convert_sympos_converted"), "convert-sympos.sh", path.join(tmp, "sympos.txt"));
  assert.equal(sympos.run.status, 0, sympos.console.split("\n").slice(-40).join("\n"));
  assert.equal(stepStatus(sympos.report, "check:1"), "pass");

  // Negative controls: the same checks on other livepatches, loaded and enabled, fail: the
  // sympos module for convert-call.sh; position 1 (fs/binfmt_elf.c's loader) for convert-sympos.sh.
  const swap = vmTest(ko("klp_convert_sympos_converted"), "convert-call.sh", path.join(tmp, "swap.txt"));
  assert.equal(stepStatus(swap.report, "livepatch:enable"), "pass");
  assert.equal(stepStatus(swap.report, "check:1"), "fail");
  const first = convert("klp_convert_first");
  assert.deepEqual(first.report?.converted.map((c) => `${c.name},${c.sympos}`), ["load_elf_binary,1"], first.run.stderr);
  const wrong = vmTest(ko("klp_convert_first_converted"), "convert-sympos.sh", path.join(tmp, "first.txt"));
  assert.equal(stepStatus(wrong.report, "livepatch:enable"), "pass");
  assert.equal(stepStatus(wrong.report, "check:1"), "fail");
});

test("a module's same-named statics: fat's two init_once, refused bare, converted by position into .klp.rela.fat", () => {
  const bare = convert("klp_convert_fat_bare");
  assert.equal(bare.run.status, 1, bare.run.stdout + bare.run.stderr);
  // vmlinux has its own static init_once functions (inode caches); they are candidates too.
  assert.match(bare.run.stderr, /init_once: \d+ symbols of that name in the target: vmlinux after .*; fat [^;]+ \+0x[0-9a-f]+ \(t, sympos 1\); fat after \S+ \+0x[0-9a-f]+ \(t, sympos 2\) \(hint/);
  const { run, report } = convert("klp_convert_fat");
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(report!.converted.map((c) => `${c.object} ${c.name},${c.sympos} ${c.chosenBy}`), ["fat init_once,2 KLPKIT_SYMPOS"]);
  const elf = sectionsAndSymbols(ko("klp_convert_fat_converted"));
  assert.match(elf, /\.klp\.rela\.fat\.text/);
  assert.doesNotMatch(elf, /klpkit/);
  const after = check(ko("klp_convert_fat_converted"));
  assert.equal(after.run.status, 0, `${after.run.stdout}\n${after.run.stderr}`);

  // In the VM: fat loads after the livepatch; its klp relocation is applied then, and the
  // address printed is the second init_once of [fat] in /proc/kallsyms. Position 1 fails.
  const vm = vmTest(ko("klp_convert_fat_converted"), "convert-fat-sympos.sh", path.join(tmp, "fat.txt"), ["--postload", "fat"]);
  assert.equal(vm.run.status, 0, vm.console.split("\n").slice(-40).join("\n"));
  assert.equal(stepStatus(vm.report, "postload:fat"), "pass");
  const first = convert("klp_convert_fat_first");
  assert.equal(first.run.status, 0, first.run.stderr);
  const wrong = vmTest(ko("klp_convert_fat_first_converted"), "convert-fat-sympos.sh", path.join(tmp, "fat-first.txt"), ["--postload", "fat"]);
  assert.equal(stepStatus(wrong.report, "postload:fat"), "pass");
  assert.equal(stepStatus(wrong.report, "check:1"), "fail");
});
