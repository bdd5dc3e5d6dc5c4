// `klp check` on real livepatch modules built against the default target (6.1.0-56-amd64): the
// kernel's own samples/livepatch/livepatch-sample.c is safe; each hand-made module of
// test/check/ (built as an external module of the target's prepared tree) is unsafe for exactly
// the reason it was written to show, on a real function of that kernel. A test asserts the
// whole set of findings, so a check that fires too often fails as surely as one that never does.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { ElfFile, toModel, writeElf } from "../src/elf/index.js";
import { convertToLivepatch } from "../src/klp/convert.js";
import { preparedTree } from "./support/kernel.js";
import { repoRoot, runKlp } from "./support/klp.js";

interface Finding { kind: string; object: string; symbol: string; reason: string; hint: string }
interface FunctionReport { object: string; oldName: string; oldSympos: number; definedIn?: string; traceable?: boolean; inlinedInto: { caller: string; covered: boolean }[]; clones: string[] }
interface Report { verdict: string; kernel: string; functions: FunctionReport[]; findings: Finding[] }

const FIXTURES = path.join(repoRoot, "test/check");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-check-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The hand-made fixtures, each one module; plus the kernel's own sample, copied from the tree. */
const MODULES = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2));
const ko = (name: string) => path.join(tmp, `${name}.ko`);
let modulesDir = "";

before(() => {
  const tree = preparedTree();
  const target = JSON.parse(runKlp(["target", "--json"]).stdout) as { release: string; files: { symvers: string; modulesDir: string } };
  modulesDir = target.files.modulesDir;
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(tmp, f));
  fs.copyFileSync(path.join(tree.dir, "samples/livepatch/livepatch-sample.c"), path.join(tmp, "livepatch_sample.c"));
  fs.writeFileSync(path.join(tmp, "Kbuild"), `ccflags-y += -I$(src)\nobj-m := ${[...MODULES, "livepatch_sample"].map((m) => `${m}.o`).join(" ")}\n`);
  // KBUILD_MODPOST_WARN: the unexported fixture refers to a symbol no export provides, on purpose.
  const r = spawnSync("nice", ["make", "-C", tree.dir, `M=${tmp}`, ...tree.makeVars, `KBUILD_EXTRA_SYMBOLS=${target.files.symvers}`, "KBUILD_MODPOST_WARN=1", "modules"],
    { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `building the fixtures failed:\n${`${r.stdout}${r.stderr}`.split("\n").slice(-30).join("\n")}`);
  // A module built for another kernel: the sample with the release in its vermagic changed.
  const sample = fs.readFileSync(ko("livepatch_sample"));
  const from = Buffer.from(`vermagic=${target.release} `), to = Buffer.from(`vermagic=${target.release.replace(/-(\d+)-/, (_, n: string) => `-${Number(n) - 1}-`)} `);
  assert.equal(from.length, to.length);
  const at = sample.indexOf(from);
  assert.ok(at > 0, "the sample's .modinfo holds its vermagic");
  to.copy(sample, at);
  fs.writeFileSync(ko("wrong_vermagic"), sample);
  // A hand-made livepatch built without debug info: its replacement's signature cannot be read.
  const strip = spawnSync("objcopy", ["--strip-debug", ko("signature_spelled"), ko("no_dwarf")], { encoding: "utf8" });
  assert.equal(strip.status, 0, strip.stderr);
  // The namespace fixture as a module built without MODULE_IMPORT_NS: its one import_ns= key
  // renamed, so .modinfo imports nothing (the kernel reads only import_ns= entries).
  const imports = fs.readFileSync(ko("namespace_import"));
  const ns = imports.indexOf("import_ns=DMA_BUF\0");
  assert.ok(ns > 0 && imports.indexOf("import_ns=", ns + 1) < 0, "namespace_import.ko imports DMA_BUF, once");
  imports.write("x", ns, "latin1");
  fs.writeFileSync(ko("namespace_not_imported"), imports);
  // The unexported fixture with its reference turned into a klp relocation, as klp build's
  // post-link step writes them: once right (sympos 0, a unique name), once with a position
  // kallsyms does not have.
  const unexported = fs.readFileSync(ko("unexported"));
  for (const [name, sympos] of [["klp_relocated", 0], ["klp_bad_sympos", 2]] as const) {
    const plan = new Map([["kallsyms_lookup_name", { object: "vmlinux", name: "kallsyms_lookup_name", sympos }]]);
    fs.writeFileSync(ko(name), convertToLivepatch(ko("unexported"), unexported, plan).data);
  }
  // The ext4 tracepoint fixture as klp convert writes it (the jump entry left out, its site off),
  // and as a tool that made the key's klp relocation would: written for vmlinux, then renamed.
  const branch = fs.readFileSync(ko("module_tracepoint"));
  const key = "__tracepoint_ext4_sync_file_enter";
  fs.writeFileSync(ko("module_tracepoint_left_out"),
    convertToLivepatch(ko("module_tracepoint"), branch, new Map([[key, { object: "ext4", name: key, sympos: 0 }]])).data);
  const late = toModel(ElfFile.parse(ko("module_tracepoint"),
    convertToLivepatch(ko("module_tracepoint"), branch, new Map([[key, { object: "vmlinux", name: key, sympos: 0 }]])).data));
  for (const x of [...late.sections, ...late.symbols]) x.name = x.name.replace(/^(\.klp\.(?:rela|sym))\.vmlinux\./, "$1.ext4.");
  fs.writeFileSync(ko("module_tracepoint_late"), writeElf(late));
});

function check(name: string, extra: string[] = []): { status: number | null; report: Report; stderr: string } {
  const r = runKlp(["check", ko(name), "--json", ...extra], 1_200_000);
  let report: Report;
  try { report = JSON.parse(r.stdout) as Report; } catch { assert.fail(`klp check ${name}: no JSON (status ${r.status}):\n${r.stderr}`); }
  return { status: r.status, report, stderr: r.stderr };
}

const kinds = (r: Report) => r.findings.map((f) => `${f.kind} ${f.symbol}`).sort();

/** klp check of `name`: unsafe (exit 1) with exactly the findings `expected`. */
function unsafe(name: string, expected: readonly string[]): Report {
  const { status, report, stderr } = check(name);
  assert.deepEqual(kinds(report), expected, stderr);
  assert.equal(status, 1);
  return report;
}

/** The one finding of `kind` in `r`. */
const findingOf = (r: Report, kind: string) => r.findings.find((f) => f.kind === kind)!;

test("the kernel's own livepatch-sample.c is safe: cmdline_proc_show of fs/proc/cmdline.o, traceable, never inlined", () => {
  const { status, report, stderr } = check("livepatch_sample");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
  assert.equal(report.verdict, "safe");
  const [f] = report.functions;
  assert.equal(report.functions.length, 1);
  assert.deepEqual({ object: f!.object, oldName: f!.oldName, definedIn: f!.definedIn, traceable: f!.traceable, inlined: f!.inlinedInto.length },
    { object: "vmlinux", oldName: "cmdline_proc_show", definedIn: "fs/proc/cmdline.o", traceable: true, inlined: 0 });
});

test("a target gcc inlined into callers: do_prlimit (kernel/sys.c) lives on inside the getrlimit syscalls", () => {
  const { status, report } = check("inlined");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["inlined do_prlimit"]);
  const callers = report.functions[0]!.inlinedInto.map((c) => c.caller).sort();
  assert.ok(callers.includes("__x64_sys_getrlimit"), `callers: ${callers.join(", ")}`);
  assert.equal(report.functions[0]!.definedIn, "kernel/sys.o");
});

test("the same function replaced with every caller it was inlined into is safe (the getrlimit entry points of kernel/sys.o)", () => {
  const { status, report, stderr } = check("inlined_covered");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
  const prlimit = report.functions.find((f) => f.oldName === "do_prlimit")!;
  assert.ok(prlimit.inlinedInto.length >= 2 && prlimit.inlinedInto.every((c) => c.covered), JSON.stringify(prlimit.inlinedInto));
  // SYSCALL_DEFINE2(getrlimit, …) hides the wrappers from a source search: their object is the one compiled for do_prlimit.
  assert.deepEqual(report.functions.map((f) => f.definedIn), Array(5).fill("kernel/sys.o"));
});

test("a notrace target: trace_clock_local has no __fentry__ call", () => {
  const { status, report } = check("notrace");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["notrace trace_clock_local"]);
  assert.equal(report.functions[0]!.definedIn, "kernel/trace/trace_clock.o");
});

test("an ambiguous name without sympos: load_elf_binary of fs/binfmt_elf.o and of fs/compat_binfmt_elf.o", () => {
  const { status, report } = check("ambiguous");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["ambiguous load_elf_binary"]);
  assert.match(report.findings[0]!.reason, /2 functions named load_elf_binary in vmlinux \(positions 1 at 0x[0-9a-f]+, 2 at 0x[0-9a-f]+\)/);
});

test("the same name with old_sympos 2 is safe, and is the compat loader's own object", () => {
  const { status, report, stderr } = check("sympos");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
  assert.equal(report.functions[0]!.definedIn, "fs/compat_binfmt_elf.o");
});

test("a split function: put_pid's callers in kernel/pid.c inline its head and call put_pid.part.0", () => {
  const { status, report } = check("part_clone");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["clone put_pid", "inlined put_pid"]);
  assert.deepEqual(report.functions[0]!.clones, ["put_pid.part.0"]);
  assert.ok(report.functions[0]!.inlinedInto.some((c) => c.caller === "delayed_put_pid"));
});

test("an .isra clone as the target: elf_map.isra.0 of fs/compat_binfmt_elf.o, whose emitted parameters lack eppnt", () => {
  const report = unsafe("isra_name", ["clone elf_map.isra.0", "signature elf_map.isra.0"]);
  assert.equal(report.functions[0]!.definedIn, "fs/compat_binfmt_elf.o");
  assert.match(findingOf(report, "signature").reason, /IPA-SRA clone .* of elf_map .*; as emitted it is passed \(filep, addr, prot, type, total_size\), not eppnt/);
});

test("a function callers reach only through its .constprop clone: proc_get_long of kernel/sysctl.c is proc_get_long.constprop.0", () => {
  const report = unsafe("constprop_base", ["clone proc_get_long", "missing proc_get_long"]);
  assert.deepEqual(report.functions[0]!.clones, ["proc_get_long.constprop.0"]);
  assert.match(findingOf(report, "clone").reason, /cloned proc_get_long as proc_get_long\.constprop\.0: callers that call a clone never reach the replacement/);
});

test("the .constprop clone replaced with the C prototype: proc_get_long.constprop.0 is not passed perm_tr_len", () => {
  const report = unsafe("constprop_clone", ["clone proc_get_long.constprop.0", "signature proc_get_long.constprop.0"]);
  assert.equal(report.functions[0]!.definedIn, "kernel/sysctl.o");
  assert.match(findingOf(report, "signature").reason, /constant-propagation clone .* of proc_get_long .*; as emitted it is passed \(buf, size, val, neg, perm_tr, tr\), not perm_tr_len/);
});

test("a replacement declaring proc_dointvec's `int write` as long: the signature differs in parameter 2", () => {
  const report = unsafe("signature_int_long", ["signature proc_dointvec"]);
  assert.equal(report.functions[0]!.definedIn, "kernel/sysctl.o");
  assert.match(report.findings[0]!.reason, /parameter 2 \(write\) is long int \[s64\] where the original's is int \[s32\]/);
  assert.match(report.findings[0]!.hint, /int \(struct ctl_table \*table, int write, void \*buffer, size_t \*lenp, loff_t \*ppos\)/);
});

test("a replacement of cmdline_proc_show without its second parameter: one parameter where the original takes two", () => {
  const report = unsafe("signature_missing", ["signature cmdline_proc_show"]);
  assert.match(report.findings[0]!.reason, /1 parameter\(s\) where the original takes 2/);
});

test("proc_dointvec's prototype spelled with the types its typedefs name and a const pointer is the same signature: safe", () => {
  const { status, report, stderr } = check("signature_spelled");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
});

test("a livepatch without DWARF: the report says the replacement's signature was not compared", () => {
  const { status, report, stderr } = check("no_dwarf");
  assert.equal(status, 0, stderr);
  const f = report.functions.find((x) => x.oldName === "proc_dointvec") as { signatureNotCompared?: string } | undefined;
  assert.match(f?.signatureNotCompared ?? "", /the module carries no DWARF/);
});

test("a non-exported symbol without a klp relocation: kallsyms_lookup_name", () => {
  const { status, report } = check("unexported");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["unresolved kallsyms_lookup_name"]);
});

test("the same reference through a klp relocation .klp.sym.vmlinux.kallsyms_lookup_name,0 is safe", () => {
  const { status, report, stderr } = check("klp_relocated");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
  assert.deepEqual((report as unknown as { klpSymbols: string[] }).klpSymbols, [".klp.sym.vmlinux.kallsyms_lookup_name,0"]);
});

test("a klp relocation whose sympos kallsyms does not have: kallsyms_lookup_name,2", () => {
  const { status, report } = check("klp_bad_sympos");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["klp-relocation .klp.sym.vmlinux.kallsyms_lookup_name,2"]);
});

test("a module's tracepoint in a hand-made livepatch: its jump entry left out by klp convert is safe; kept as a klp relocation, unsafe", () => {
  const left = check("module_tracepoint_left_out");
  assert.deepEqual(kinds(left.report), [], left.stderr);
  assert.equal(left.status, 0);
  const r = unsafe("module_tracepoint_late", ["klp-relocation .klp.rela.ext4.__jump_table"]);
  assert.match(findingOf(r, "klp-relocation").reason, /applies only when ext4 is patched, after it has read the livepatch's __jump_table/);
  assert.match(findingOf(r, "klp-relocation").hint, /static_key_enabled/);
});

test("exports of the DMA_BUF symbol namespace used by a module that imports it: safe", () => {
  const { status, report, stderr } = check("namespace_import");
  assert.deepEqual(kinds(report), [], stderr);
  assert.equal(status, 0);
});

test("the same module without its import of DMA_BUF: the module loader refuses dma_buf_get and dma_buf_put", () => {
  const r = unsafe("namespace_not_imported", ["namespace dma_buf_get", "namespace dma_buf_put"]);
  assert.match(findingOf(r, "namespace").reason, /exported in symbol namespace DMA_BUF, which namespace_import does not import/);
  assert.match(findingOf(r, "namespace").hint, /MODULE_INFO\(import_ns, "DMA_BUF"\)/);
});

test("a module built for another kernel: vermagic names another release", () => {
  const { status, report } = check("wrong_vermagic");
  assert.equal(status, 1);
  assert.deepEqual(kinds(report), ["modinfo vermagic"]);
  assert.match(report.findings[0]!.reason, /6\.1\.0-55-amd64, not 6\.1\.0-56-amd64/);
});

// klp build's own check knows each replacement is the same function compiled from the patched
// tree; klp check alone sees code that klp build ships without DWARF, so it can prove
// everything but the replacements' signatures, and says so.
test("klp build of a fix to do_prlimit carries the getrlimit entry points it was inlined into; klp check on its own agrees it is safe, saying the DWARF-less replacements' signatures were not compared", () => {
  const b = runKlp(["build", "--patch", path.join(FIXTURES, "prlimit.patch"), "-o", tmp, "--name", "built_prlimit", "--json"], 1_200_000);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual((JSON.parse(b.stdout) as { check: unknown }).check, { verdict: "safe", functions: 5 });
  const { status, report } = check("built_prlimit");
  assert.deepEqual(kinds(report), []);
  for (const f of report.functions as { signatureNotCompared?: string }[]) assert.match(f.signatureNotCompared ?? "", /does not describe __klp_new_\d/);
  assert.equal(status, 0);
  const prlimit = report.functions.find((f) => f.oldName === "do_prlimit")!;
  assert.deepEqual(prlimit.inlinedInto.map((c) => [c.caller, c.covered]).sort(), [
    ["__ia32_compat_sys_getrlimit", true], ["__ia32_sys_getrlimit", true], ["__x64_compat_sys_getrlimit", true], ["__x64_sys_getrlimit", true]]);
});

test("bad input is exit 2 with the path and the reason, never a stack trace", () => {
  const binfmt = path.join(modulesDir, "kernel/fs/binfmt_misc.ko");
  for (const [args, why] of [
    [[path.join(tmp, "missing.ko")], /missing\.ko: no such file/],
    [[path.join(FIXTURES, "handmade.h")], /not an ELF file/],
    // An ordinary module of the target: no klp_patch to check.
    [[binfmt], /binfmt_misc\.ko: no static struct klp_patch found/],
    [[ko("livepatch_sample"), "--kernel", "6.1.0-56-amd64", "--source", tmp], /give --kernel or --source, not both/],
  ] as const) {
    const r = runKlp(["check", ...args], 600_000);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test("klp --help lists check; klp check --help says what it checks and its exit codes", () => {
  const top = runKlp(["--help"]);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /^\s+check\s+check a livepatch module/m);
  const own = runKlp(["check", "--help"]);
  assert.equal(own.status, 0);
  assert.match(own.stdout, /usage: klp check MODULE\.ko/);
  assert.match(own.stdout, /exit: 0 safe, 1 unsafe/);
});
