// The stable-update corpus (not a test): the real fixes between two Debian source versions of one
// kernel line, one patch per changed .c file, each built by `klp build` for the older kernel on its
// exact tree and booted by `klp vm-test` on that kernel. A fix in a module is booted twice: with the
// module loaded before the livepatch, and loaded after it (late patching; the VM must show that the
// module was absent when the livepatch loaded, and patched when it arrived).
//
//   node dist/bench/stable-corpus.js --kernel 6.1.0-47-amd64 --to 6.1.176-1 [--dir DIR]
//        [--only REGEX] [--limit N] [--report FILE] [--report-only]
//
// --kernel is the older kernel (its exact source is the older version), --to the newer source
// version of the same linux-source package. Work goes to DIR (default
// $KLP_CORPUS_DIR or /work/stable-corpus, then <kernel>-to-<version>): the two versions' .c files,
// the patches, the modules, and results.jsonl with one line per finished case. A run resumes: a
// case whose patch is already in results.jsonl is not run again (--redo OUTCOME,... runs the cases
// of those outcomes again, after a fix in klp). A .c fix that does not compile alone is built again
// with the update's other changes in its directory (a fix split across files). Cases
// run one at a time, since klp build and the VM each want both cores.
//
// The report (printed, and written to --report) counts live / refused / nothing to patch / build
// error / VM failure, gives the share live among cases neither refused nor nothing to patch, the
// median build and VM times, and names every case that is not live with its one-line reason.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { IncludeGraph } from "../src/kbuild/include-graph.js";
import { extractMember, fetchDeb } from "../src/target/debian.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const klp = path.join(repoRoot, "dist/klp.cjs");
const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");

const { values } = parseArgs({
  options: {
    kernel: { type: "string" },
    to: { type: "string" },
    dir: { type: "string" },
    only: { type: "string" },
    limit: { type: "string" },
    report: { type: "string" },
    "report-only": { type: "boolean" },
    redo: { type: "string" },
  },
});
if (!values.kernel || !values.to) {
  process.stderr.write("usage: stable-corpus --kernel OLDER_RELEASE --to NEWER_SOURCE_VERSION [--dir DIR] [--only REGEX] [--limit N] [--report FILE] [--report-only]\n");
  process.exit(2);
}
const kernel = values.kernel, toVersion = values.to;
const work = path.join(values.dir ?? process.env["KLP_CORPUS_DIR"] ?? "/work/stable-corpus", `${kernel}-to-${toVersion}`);
const log = (s: string) => process.stderr.write(`stable-corpus: ${s}\n`);

/**
 * not-loadable: a driver module that does not load in qemu without its hardware; the livepatch loads
 * and enables with it absent, but its patching cannot be shown here.
 */
type Outcome = "live" | "refused" | "nothing" | "build-error" | "vm-failure" | "not-loadable";
interface CaseResult {
  file: string;
  patchSha: string;
  outcome: Outcome;
  /** One line: the refusal, why there is nothing to patch, the compiler's error, the VM step that failed. */
  reason: string;
  buildSeconds: number;
  vmSeconds: number;
  /** Where the fix lands: vmlinux and/or module names. */
  targets: string[];
  changed: string[];
  /** The update's other changed files in the directory, built with this one when it did not compile alone. */
  with?: string[];
  /** Per VM run: the order (vmlinux, preload, postload) and what it showed. */
  vm: { order: string; ok: boolean; seconds: number; detail: string }[];
}

/**
 * Runs klp with a time limit on its whole process group (coreutils timeout signals the group it
 * leads): build-pair.sh and its compilers stop with klp, and its trap reverts the patch. Exit 124
 * when the limit was reached.
 */
function klpRun(args: string[], timeoutMs: number): { status: number; stdout: string; stderr: string; seconds: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("timeout", ["-k", "60", String(Math.round(timeoutMs / 1000)), process.execPath, klp, ...args],
    { encoding: "utf8", maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
/** What `timeout` exits with when the limit was reached. */
const TIMED_OUT = 124;

/** The older kernel's exact source tarball, as klp build itself fetches it. */
function olderTarball(): { tarball: string; pkg: string; version: string } {
  const r = klpRun(["target", "--kernel", kernel, "--fetch-source", "--json"], 1_800_000);
  if (r.status !== 0) throw new Error(`klp target --fetch-source --kernel ${kernel}: ${r.stderr}`);
  const t = JSON.parse(r.stdout) as { sourceTarball: string; source: { package: string; version: string } };
  return { tarball: t.sourceTarball, pkg: t.source.package, version: t.source.version };
}

/** The same package at the newer version, in klp's source cache. */
function newerTarball(pkg: string): string {
  const line = pkg.replace(/^linux-source-/, "");
  const out = path.join(cache, "sources", `${pkg}_${toVersion}.tar.xz`);
  if (fs.existsSync(out)) return out;
  log(`fetching ${pkg} ${toVersion}`);
  const r = fetchDeb(pkg, toVersion, path.join(cache, "debs"));
  if (!("deb" in r)) throw new Error(`apt-get download ${pkg}=${toVersion}: ${r.why}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  extractMember(r.deb, `./usr/src/linux-source-${line}.tar.xz`, out);
  fs.rmSync(r.deb, { force: true });
  return out;
}

/** The .c and .h files of a tarball under `dir` (once; `.done-ch` marks a finished extraction). */
function cSources(tarball: string, dir: string): string {
  if (fs.existsSync(path.join(dir, ".done-ch"))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`extracting the .c and .h files of ${path.basename(tarball)}`);
  const r = spawnSync("tar", ["-xf", tarball, "-C", dir, "--strip-components=1", "--wildcards", "*.c", "*.h"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tar -xf ${tarball}: ${r.stderr}`);
  fs.writeFileSync(path.join(dir, ".done-ch"), "");
  return dir;
}

function walk(dir: string, rel = "", out: string[] = []): string[] {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(dir, p, out);
    else if (e.name.endsWith(".c") || e.name.endsWith(".h")) out.push(p);
  }
  return out;
}

/** A -p1 unified diff of `files` from the older to the newer source. */
function patchOf(files: readonly string[]): string {
  return files.map(fileDiff).join("");
}

const diffs = new Map<string, string>();
function fileDiff(file: string): string {
  let d = diffs.get(file);
  if (d === undefined) {
    // -N: a header the update adds (include/rdma/iter.h in 6.1.176) is a diff from nothing.
    d = spawnSync("diff", ["-uN", "--label", `a/${file}`, "--label", `b/${file}`, path.join(oldDir, file), path.join(newDir, file)],
      { encoding: "utf8", maxBuffer: 64 << 20 }).stdout;
    diffs.set(file, d);
  }
  return d;
}

/**
 * Files no x86-64 kernel build compiles: user-space tools, samples, scripts and other
 * architectures. They are counted as nothing to patch without running klp.
 */
function notKernelCode(file: string): string | undefined {
  if (/^(tools|samples|scripts|Documentation|usr)\//.test(file)) return `${file.split("/")[0]}/ is not built into a kernel or its modules`;
  const arch = /^arch\/([^/]+)\//.exec(file)?.[1];
  if (arch && arch !== "x86") return `arch/${arch} is not built for x86-64`;
  return undefined;
}

/** The first line of a klp error that says what happened (its JSON error, or stderr's error line). */
function reasonOf(stdout: string, stderr: string): string {
  return firstReason(stdout, stderr).replace(/^\S+\.patch: /, "");
}

function firstReason(stdout: string, stderr: string): string {
  try {
    const e = JSON.parse(stdout) as { error?: string; refused?: { symbol?: string; reason?: string }[] };
    const first = e.refused?.[0];
    if (first?.reason) return `${first.symbol ? `${first.symbol}: ` : ""}${first.reason}`.split("\n")[0]!;
    if (e.error) return e.error.split("\n")[0]!;
  } catch { /* not JSON: fall through to stderr */ }
  const line = stderr.split("\n").find((l) => /error|refus|nothing/i.test(l)) ?? stderr.trim().split("\n").pop() ?? "";
  return line.trim();
}

/** A compile error's first compiler message (file:line: error: …), when klp's error carries one. */
function compilerError(stdout: string, stderr: string): string | undefined {
  return `${stdout}\n${stderr}`.split("\n").find((l) => /:\d+:\d+: (fatal )?error:/.test(l))?.trim().replace(/^.*?(\S+:\d+:\d+: (fatal )?error:)/, "$1").replace(/",?$/, "");
}

interface VmStep { id: string; status: string; detail: string }
/** A step of a `klp vm-test --json` report as one line: "preload:hv_vmbus: insmod … failed …". */
const stepLine = (s: VmStep) => `${s.id}: ${s.detail || s.status}`;
/** A step line of a module whose insmod failed; its exit status is init_module's errno. */
const INSMOD_FAILED = /^preload:(\S+): insmod \S+ failed \(exit status (\d+)\)/;

/** The first step of a `klp vm-test --json` report that did not pass, as a step line. */
function failedStep(stdout: string): string | undefined {
  try {
    const failed = (JSON.parse(stdout) as { steps: VmStep[] }).steps.find((s) => s.status !== "pass");
    return failed ? stepLine(failed) : undefined;
  } catch {
    return undefined;
  }
}

/** insmod's exit status is the errno of init_module. */
function errnoName(n: number): string {
  const names: Record<number, string> = { 2: "ENOENT: a module it requests at init is not in the VM", 6: "ENXIO", 19: "ENODEV: no device", 22: "EINVAL", 95: "EOPNOTSUPP" };
  return names[n] ?? `errno ${n}`;
}

/** A console line without its timestamp, to compare two boots. */
function bareLine(l: string): string {
  return l.replace(/^\[\s*\d+\.\d+\]\s*/, "").replace(/PID: \d+/, "PID: N").trim();
}

let controlKo: string | undefined;
const controlRuns = new Map<string, string[] | undefined>();
/**
 * The console problems of the same boot (same modules, same order) with an unrelated livepatch
 * (test/e2e/cmdline.patch, built once for the kernel), or undefined when it cannot be had.
 */
function controlProblems(order: readonly string[]): string[] | undefined {
  const key = order.join(" ");
  if (controlRuns.has(key)) return controlRuns.get(key);
  if (!controlKo) {
    const b = klpRun(["build", "--kernel", kernel, "--patch", path.join(repoRoot, "test/e2e/cmdline.patch"), "-o", path.join(work, "modules"), "--name", "klps_control", "--json"], 1_800_000);
    if (b.status !== 0) { controlRuns.set(key, undefined); return undefined; }
    controlKo = (JSON.parse(b.stdout) as { module: string }).module;
  }
  const v = klpRun(["vm-test", controlKo, "--kernel", kernel, ...order, "--timeout", "240", "--json"], 600_000);
  let problems: string[] | undefined;
  try { problems = (JSON.parse(v.stdout) as { problems: { line: string }[] }).problems.map((p) => bareLine(p.line)); } catch { problems = undefined; }
  controlRuns.set(key, problems);
  return problems;
}

/** klp build's last progress line: `screened 768 of 2236 readers: 3 may change`. */
function lastStep(stderr: string): string {
  return stderr.trim().split("\n").filter((l) => l.startsWith("klp build: ")).pop()?.slice("klp build: ".length) ?? "no step began";
}

function runCase(file: string, patch: string, patchSha: string, outDir: string): CaseResult {
  const name = `klps_${file.replace(/\.c$/, "").replace(/[^A-Za-z0-9]+/g, "_").toLowerCase()}`.slice(0, 50);
  const base = { file, patchSha, buildSeconds: 0, vmSeconds: 0, targets: [] as string[], changed: [] as string[], vm: [] as CaseResult["vm"] };
  const b = klpRun(["build", "--kernel", kernel, "--patch", patch, "-o", outDir, "--name", name, "--json"], 1_800_000);
  base.buildSeconds = b.seconds;
  if (b.status !== 0) {
    const outcome: Outcome = b.status === 1 ? "refused" : b.status === 3 ? "nothing" : "build-error";
    const reason = b.status === TIMED_OUT ? `klp build did not finish in ${Math.round(b.seconds / 60)} min (${lastStep(b.stderr)})`
      : (b.status === 2 && compilerError(b.stdout, b.stderr)) || reasonOf(b.stdout, b.stderr) || `klp build exit ${b.status}`;
    return { ...base, outcome, reason };
  }
  const built = JSON.parse(b.stdout) as { module: string; objects: { target: string; changed: string[]; new: string[] }[] };
  const modules = [...new Set(built.objects.map((o) => o.target).filter((t) => t !== "vmlinux"))];
  base.targets = [...new Set(built.objects.map((o) => o.target))];
  base.changed = built.objects.flatMap((o) => [...o.changed, ...o.new.map((n) => `+${n}`)]);
  const orders: { order: string; args: string[] }[] = modules.length
    ? [{ order: "preload", args: modules.flatMap((m) => ["--preload", m]) }, { order: "postload", args: modules.flatMap((m) => ["--postload", m]) }]
    : [{ order: "vmlinux", args: [] }];
  for (const o of orders) {
    const v = klpRun(["vm-test", built.module, "--kernel", kernel, ...o.args, "--timeout", "240", "--json"], 600_000);
    base.vmSeconds += v.seconds;
    let ok = v.status === 0, detail = "";
    try {
      const rep = JSON.parse(v.stdout) as { steps: VmStep[]; problems: { line: string }[] };
      const failed = rep.steps.find((s) => s.status !== "pass");
      detail = failed ? stepLine(failed) : "";
      // Late patching: each module must have arrived after the livepatch and been patched then, not
      // pulled in by it ("already loaded" would mean the livepatch forced it in).
      if (ok && o.order === "postload") {
        const late = modules.map((m) => rep.steps.find((s) => s.id === `postload:${m}`));
        const notLate = late.findIndex((s) => !s || !/patched by the livepatch/.test(s.detail));
        if (notLate >= 0) { ok = false; detail = `postload:${modules[notLate]}: ${late[notLate]?.detail ?? "missing"} (not absent when the livepatch loaded)`; }
        else detail = modules.map((m) => `${m} absent at load, patched on arrival`).join("; ");
      }
      if (!ok && !detail) detail = rep.problems.map((p) => p.line).slice(0, 2).join("; ") || `klp vm-test exit ${v.status}`;
      // Console trouble is the livepatch's only if the same boot with an unrelated livepatch is
      // clean: bluetooth's ecdh_generic WARNs in its self-test under TCG with or without one.
      if (!ok && failed?.id === "console" && rep.problems.length) {
        const ours = rep.problems.map((p) => bareLine(p.line));
        const control = controlProblems(o.args);
        if (control && ours.every((l) => control.includes(l))) {
          ok = true;
          detail = `the kernel's own trouble, also with an unrelated livepatch: ${ours[0]}`;
        }
      }
    } catch {
      detail = reasonOf(v.stdout, v.stderr) || `klp vm-test exit ${v.status}`;
    }
    base.vm.push({ order: o.order, ok, seconds: v.seconds, detail });
    // A driver whose probe needs its hardware fails to load in qemu (ENODEV, ENXIO) before the
    // livepatch is involved: then the livepatch is shown to load and enable with the module
    // absent, and the case is filed apart, since its patching cannot be shown here.
    const noDevice = INSMOD_FAILED.exec(detail);
    if (!ok && o.order === "preload" && noDevice) {
      const alone = klpRun(["vm-test", built.module, "--kernel", kernel, "--timeout", "240", "--json"], 600_000);
      base.vmSeconds += alone.seconds;
      const aloneFailed = failedStep(alone.stdout);
      base.vm.push({ order: "absent", ok: alone.status === 0, seconds: alone.seconds,
        detail: alone.status === 0 ? "loaded and enabled with the module absent" : aloneFailed ?? reasonOf(alone.stdout, alone.stderr) });
      // The livepatch itself needs a module qemu cannot load (hv_sock's carried hvs_probe calls
      // hv_vmbus's exports, and hv_vmbus fails with ENODEV without Hyper-V).
      const needed = INSMOD_FAILED.exec(aloneFailed ?? "");
      if (alone.status !== 0 && needed) {
        return { ...base, outcome: "not-loadable", reason: `${needed[1]}, which the livepatch needs, does not load in qemu (insmod: ${errnoName(Number(needed[2]))})` };
      }
      if (alone.status !== 0) break;
      return { ...base, outcome: "not-loadable", reason: `${noDevice[1]} does not load in qemu (insmod: ${errnoName(Number(noDevice[2]))}); the livepatch loads and enables with it absent` };
    }
  }
  const bad = base.vm.find((r) => !r.ok);
  return bad ? { ...base, outcome: "vm-failure", reason: `${bad.order}: ${bad.detail}` } : { ...base, outcome: "live", reason: base.vm.map((r) => r.detail).filter(Boolean).join("; ") };
}

const pct = (a: number, b: number) => (b ? ` = ${((100 * a) / b).toFixed(1)}%` : "");
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0);

function report(results: CaseResult[], total: number, pending: number): string {
  const by = (o: Outcome) => results.filter((r) => r.outcome === o);
  const live = by("live"), decided = results.filter((r) => r.outcome !== "refused" && r.outcome !== "nothing" && r.outcome !== "not-loadable");
  const compiled = decided.filter((r) => r.outcome !== "build-error");
  const late = live.filter((r) => r.vm.some((v) => v.order === "postload"));
  const klpRan = results.filter((r) => r.buildSeconds > 0);
  const L = [
    `# Stable-update corpus: ${kernel} (${olderVersion}) → ${toVersion}`,
    "",
    `Reproduce: \`npm run build && node dist/bench/stable-corpus.js --kernel ${kernel} --to ${toVersion}\``,
    "",
    `- changed .c files: ${total}; finished: ${results.length}${pending ? `; not yet run: ${pending}` : ""}`,
    `- live: ${live.length} (${late.length} module fixes also late-patched: module absent at load, patched on arrival)`,
    `- refused: ${by("refused").length}; nothing to patch: ${by("nothing").length}; build error: ${by("build-error").length}; VM failure: ${by("vm-failure").length}; ` +
      `module does not load in qemu: ${by("not-loadable").length}`,
    `- live among cases neither refused nor nothing to patch (nor a driver qemu cannot load): ${live.length}/${decided.length}${pct(live.length, decided.length)}`,
    `- live among those whose fix compiles on the older tree: ${live.length}/${compiled.length}${pct(live.length, compiled.length)}`,
    `- median klp build ${median(klpRan.map((r) => r.buildSeconds)).toFixed(1)} s over ${klpRan.length} builds; ` +
      `median VM time ${median(live.concat(by("vm-failure")).map((r) => r.vmSeconds)).toFixed(1)} s per case (all its boots)`,
    "",
  ];
  for (const o of ["vm-failure", "build-error", "not-loadable", "refused", "nothing"] as const) {
    const rs = by(o).sort((a, b) => a.file.localeCompare(b.file));
    if (!rs.length) continue;
    L.push(`## ${o} (${rs.length})`, "");
    for (const r of rs) {
      // Results recorded before the with-list had a field of its own repeat it in the reason.
      const reason = r.reason.replace(/^\S+\.patch: /, "").split(r.with ? ` (with ${r.with.join(", ")})` : "\0").join("");
      L.push(`- \`${r.file}\`${r.with ? ` (with ${r.with.join(", ")})` : ""}: ${reason}`);
    }
    L.push("");
  }
  L.push(`## live (${live.length})`, "");
  for (const r of live) {
    const withOthers = r.with ? ` (with ${r.with.join(", ")})` : "";
    L.push(`- \`${r.file}\`${withOthers} → ${r.targets.join(", ")}: ${r.changed.join(", ")} (build ${r.buildSeconds.toFixed(0)} s, VM ${r.vmSeconds.toFixed(0)} s)`);
  }
  return L.join("\n") + "\n";
}

fs.mkdirSync(path.join(work, "patches"), { recursive: true });
fs.mkdirSync(path.join(work, "modules"), { recursive: true });
const older = olderTarball();
const olderVersion = older.version;
const oldDir = cSources(older.tarball, path.join(work, `src-${older.version}`));
const newDir = cSources(newerTarball(older.pkg), path.join(work, `src-${toVersion}`));
const changedFiles = walk(newDir).filter((f) => {
  const o = path.join(oldDir, f);
  return fs.existsSync(o) && !fs.readFileSync(o).equals(fs.readFileSync(path.join(newDir, f)));
});
const changed = changedFiles.filter((f) => f.endsWith(".c")).sort(byHash);
/** Headers the update adds; a fix that includes one does not compile without it. */
const addedHeaders = walk(newDir).filter((f) => f.endsWith(".h") && !fs.existsSync(path.join(oldDir, f)));
/**
 * The update's other changes in a file's directory (.c and local .h): a fix split across files
 * (fs/hfsplus/super.c calling a helper the same fix added to bfind.c and declared in
 * hfsplus_fs.h) does not compile alone, and a livepatch engineer would build them together.
 */
const siblings = (file: string): string[] => changedFiles.filter((f) => f !== file && path.dirname(f) === path.dirname(file)).sort();
/**
 * A header of the update read by more .c files than this is not added to a fix unasked, as one of
 * its directory's or driver's other changes: klp build preprocesses every object that reads a
 * patched header, before and after, and compiles those the change reaches (about a second per
 * reader on two cores). A header the compiler asks for by name is added however widely it is read:
 * a struct whose layout it changes (6.1.176's task_struct in sched.h, read by 24,171 files) is
 * refused from the fix's own objects before any reader is preprocessed, and klp build's 30-minute
 * limit bounds the rest.
 */
const MAX_READERS = 200;
let graph: IncludeGraph | undefined;
const readerCounts = new Map<string, number>();

/** How many .c files of the older tree read `header` through any chain of includes. */
function readers(header: string): number {
  if (!header.endsWith(".h")) return 0;
  const known = readerCounts.get(header);
  if (known !== undefined) return known;
  graph ??= IncludeGraph.of(oldDir, "x86");
  const n = graph.cFilesReading(header).length;
  readerCounts.set(header, n);
  return n;
}
const tooWide = (f: string) => readers(f) > MAX_READERS;

/**
 * Builds of one case: alone, with its directory's changes, then each time with what the compiler
 * named next. 6.1.176's netfilter fixes needed three rounds of names after the directory
 * (nf_ct_helper_expectfn_destroy, lockdep_nfct_expect_lock_held, then nf_queue.h's skb_dev).
 */
const MAX_ATTEMPTS = 5;

/** More files than this from a driver's subtree make the case a build error, not a larger build. */
const MAX_SUBTREE = 30;

/**
 * The update's other changes in the driver the case belongs to, when the compiler stopped in a
 * file of it: sof's stream callback changed type in sound/soc/sof/ops.h and in the drivers of
 * sof/intel/ and sof/amd/ ("sound/soc/sof/intel/hda-common-ops.c:40:27: error: initialization of
 * ‘int (*)(struct snd_sof_dev *, struct snd_sof_pcm_stream *, …)’ from incompatible pointer
 * type"), and only the fix's whole subtree compiles. The driver is the case's directory, or its
 * parent when that is three levels deep or more (sound/soc/sof for sof/intel/hda-ipc.c; never
 * sound/soc or drivers/net): the smallest of them that holds the failing file and changes not yet
 * taken. Asked only when the complaint names nothing the update changed.
 */
function subtreeOf(file: string, message: string, have: readonly string[]): string[] {
  const stopped = stoppedIn(message);
  const dir = path.dirname(file), parent = path.dirname(dir);
  for (const root of parent.split("/").length >= 3 ? [dir, parent] : [dir]) {
    if (!stopped.some((f) => f.startsWith(`${root}/`))) continue;
    const more = changedFiles.filter((f) => f.startsWith(`${root}/`) && !have.includes(f) && !notKernelCode(f) && !tooWide(f));
    if (more.length > MAX_SUBTREE) return [];
    if (more.length) return more.sort();
  }
  return [];
}

/**
 * The update's other changed files whose diff names an identifier of the compiler's complaint
 * (‘hci_req_sync_lock’ → include/net/bluetooth/hci_sync.h), not already in `have`.
 */
function namedBy(message: string, have: readonly string[]): string[] {
  // A quoted identifier, or a quoted struct, union or enum tag: ‘hci_req_sync_lock’, ‘struct
  // ib_block_iter’. Not the words of a quoted type (‘int (*)(struct sock *)’): "sock" is in many
  // diffs that have nothing to do with the fix.
  const ids = [...message.matchAll(/[‘'"](?:(?:struct|union|enum) )?([A-Za-z_][A-Za-z0-9_]{3,})[’'"]/g)].map((x) => x[1]!);
  // "fatal error: rdma/iter.h: No such file or directory": a header the same update adds.
  const missing = /fatal error: (\S+\.h): No such file/.exec(message)?.[1];
  const out = missing ? addedHeaders.filter((h) => (h === missing || h.endsWith(`/${missing}`)) && !have.includes(h)) : [];
  // Another architecture's change (arch/alpha/include/asm/mmu_context.h) never fixes an x86 build.
  const diffs = changedFiles.filter((f) => !have.includes(f) && !notKernelCode(f))
    .map((f) => ({ f, changed: patchOf([f]).split("\n").filter((l) => /^[-+][^-+]/.test(l)).join("\n") }));
  const naming = (words: readonly string[]) => !words.length ? [] : diffs
    .filter((d) => words.some((w) => new RegExp(`\\b${w}\\b`).test(d.changed))).map((d) => d.f);
  let found = naming(ids);
  // A name a macro made: 6.1.176's dev_set_ready_to_probe() comes from device.h's
  // `__create_dev_flag_accessors(ready_to_probe, …)`, whose diff never spells it. Its tails of two
  // words or more (set_ready_to_probe, ready_to_probe, to_probe), longest first.
  for (const id of found.length ? [] : ids) {
    const parts = id.split("_").filter(Boolean);
    for (let k = 1; k + 2 <= parts.length && !found.length; k++) {
      const tail = parts.slice(k).join("_");
      if (tail.length >= 8) found = naming([tail]);
    }
  }
  // The complaint may quote only types: 6.12.117's net/dccp/ipv6.c:993 "initialization of
  // ‘struct sock * (*)(…)’ from incompatible pointer type" is the line `.syn_recv_sock =
  // dccp_v6_request_recv_sock,`, and include/net/inet_connection_sock.h's diff adds a parameter
  // to syn_recv_sock, declared four lines above the change. Then the changed headers that hold a
  // word of the lines the compiler stopped at near a change; a word only where few do.
  if (!found.length) {
    found = [...new Set(stoppedAtWords(message, have).map((w) => headersChangedNear(w, have)).filter((fs) => fs.length <= 3).flat())];
  }
  // Headers first: 6.12.117's netns_immutable is spelled by the diffs of a dozen drivers before
  // include/linux/netdevice.h's, which declares it.
  const headersFirst = [...found.filter((f) => f.endsWith(".h")), ...found.filter((f) => !f.endsWith(".h"))];
  for (const f of headersFirst) if (out.length < 4 && !out.includes(f)) out.push(f);
  return out;
}

/** Lines around a change where a declaration it changes may begin (a member's name above its parameters). */
const NEAR = 8;

/** The update's changed headers, not in `have`, whose newer text holds `word` within NEAR lines of a changed line. */
function headersChangedNear(word: string, have: readonly string[]): string[] {
  const re = new RegExp(`\\b${word}\\b`);
  return changedFiles.filter((f) => f.endsWith(".h") && !have.includes(f) && !notKernelCode(f))
    .filter((f) => nearChanges(f).some((l) => re.test(l)));
}

const nearChangesOf = new Map<string, string[]>();
/** The lines of `file`'s newer text within NEAR lines of a change, read once per header. */
function nearChanges(file: string): string[] {
  let near = nearChangesOf.get(file);
  if (!near) {
    const lines = fs.readFileSync(path.join(newDir, file), "latin1").split("\n");
    const keep = new Set(changedLinesOf(file).flatMap((n) => Array.from({ length: 2 * NEAR + 1 }, (_, k) => n - NEAR + k)));
    near = lines.filter((_, i) => keep.has(i));
    nearChangesOf.set(file, near);
  }
  return near;
}

/** The 0-based numbers of the lines of `file`'s newer text its diff adds, and where it removes some. */
function changedLinesOf(file: string): number[] {
  const out: number[] = [];
  let at = 0;
  for (const l of fileDiff(file).split("\n")) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)/.exec(l);
    if (hunk) { at = Number(hunk[1]) - 1; continue; }
    if (l.startsWith("+++") || l.startsWith("---")) continue;
    if (l.startsWith("+")) out.push(at++);
    else if (l.startsWith("-")) out.push(at);
    else if (l.startsWith(" ")) at++;
  }
  return out;
}

/** Not names a diff could be asked about. */
const C_WORDS = new Set(["const", "static", "struct", "union", "enum", "return", "sizeof", "unsigned", "signed", "void", "bool",
  "char", "short", "long", "int", "true", "false", "NULL", "else", "while", "break", "inline", "extern", "typeof"]);

/**
 * The identifiers of the lines the compiler stopped at (`file:line:col: error`) in files of the
 * case's patch, read from the newer tree: a line of a header the patch leaves alone
 * (compiler_types.h's BUILD_BUG_ON machinery) says nothing about what the fix needs.
 */
function stoppedAtWords(message: string, have: readonly string[]): string[] {
  const words = new Set<string>();
  for (const m of message.matchAll(ERROR_AT)) {
    if (!have.includes(m[1]!)) continue;
    const file = path.join(newDir, m[1]!);
    const line = fs.existsSync(file) ? fs.readFileSync(file, "latin1").split("\n")[Number(m[2]) - 1] ?? "" : "";
    for (const w of line.match(/[A-Za-z_][A-Za-z0-9_]{3,}/g) ?? []) if (!C_WORDS.has(w)) words.add(w);
  }
  return [...words];
}

/**
 * The files the compiler stopped in, when the update changed them, and the update's changed
 * headers they include by name, when nothing else was found: 6.1.176's xfrm_policy.c passes km_migrate() an argument whose type changed in
 * <net/xfrm.h>, and the complaint names only the function, which the header's diff never spells.
 */
function includedBy(message: string, have: readonly string[]): string[] {
  const stopped = new Set(stoppedIn(message));
  // A file the update changed too, that the patched header's change reached (6.12.117's
  // net/dccp/ipv6.c, after include/net/inet_sock.h): its own change comes first.
  const out = [...stopped].filter((f) => changedFiles.includes(f) && !have.includes(f) && !notKernelCode(f)).slice(0, 4);
  // The newer tree's includes: the update may have added the #include itself.
  newGraph ??= IncludeGraph.of(newDir, "x86");
  for (const f of stopped) {
    for (const h of changedFiles) {
      if (h.endsWith(".h") && newGraph.includes(f, h) && !have.includes(h) && !out.includes(h) && !notKernelCode(h) && out.length < 4) out.push(h);
    }
  }
  return out;
}
let newGraph: IncludeGraph | undefined;

/** Where the compiler stopped: `net/dccp/ipv6.c:438:25: error: …` (file, line). */
const ERROR_AT = /(?:^|[\s"])(?:\.\/)?([\w./+-]+?\.[ch]):(\d+):\d+: (?:fatal )?error/g;

/** The files the compiler stopped in. */
function stoppedIn(message: string): string[] {
  return [...message.matchAll(ERROR_AT)].map((m) => m[1]!);
}

/**
 * Cases run in the order of their names' hashes, not alphabetically: a run stopped early (the 6.1
 * pair has over a thousand changed files, most in drivers/) is then a fair sample of the whole
 * update rather than arch/ and drivers/ alone. The order is the same on every run.
 */
function byHash(a: string, b: string): number {
  const h = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
  return h(a) < h(b) ? -1 : h(a) > h(b) ? 1 : 0;
}
const resultsFile = path.join(work, "results.jsonl");
const done = new Map<string, CaseResult>();
/** Outcomes to run again (--redo vm-failure,build-error), after a fix in klp. */
const redo = new Set((values.redo ?? "").split(",").filter(Boolean));
if (fs.existsSync(resultsFile)) {
  for (const l of fs.readFileSync(resultsFile, "utf8").split("\n").filter(Boolean)) {
    const read = JSON.parse(l) as CaseResult | (Omit<CaseResult, "outcome"> & { outcome: "no-device" });
    // Recorded before the outcome covered every insmod errno, not ENODEV alone.
    const r: CaseResult = read.outcome === "no-device" ? { ...read, outcome: "not-loadable" } : read;
    if (redo.has(r.outcome)) done.delete(`${r.file} ${r.patchSha}`);
    else done.set(`${r.file} ${r.patchSha}`, r);
  }
}
const only = values.only ? new RegExp(values.only) : undefined;
let budget = values.limit ? Number(values.limit) : Infinity;
const results: CaseResult[] = [];
let pending = 0;
log(`${changed.length} changed .c files between ${older.version} and ${toVersion}; ${done.size} results on record`);
for (const file of changed) {
  const patchText = patchOf([file]);
  const patchSha = crypto.createHash("sha256").update(patchText).digest("hex").slice(0, 16);
  const known = done.get(`${file} ${patchSha}`);
  if (known) { results.push(known); continue; }
  const skip = notKernelCode(file);
  if (skip) {
    const r: CaseResult = { file, patchSha, outcome: "nothing", reason: skip, buildSeconds: 0, vmSeconds: 0, targets: [], changed: [], vm: [] };
    fs.appendFileSync(resultsFile, JSON.stringify(r) + "\n");
    results.push(r);
    continue;
  }
  if (values["report-only"] || (only && !only.test(file)) || budget <= 0) { pending++; continue; }
  budget--;
  const patch = path.join(work, "patches", `${file.replace(/\//g, "__")}.patch`);
  fs.writeFileSync(patch, patchText);
  log(`${file} …`);
  let r = runCase(file, patch, patchSha, path.join(work, "modules"));
  // A sibling header read too widely waits until the compiler names it (and then stops the case).
  let others = siblings(file).filter((f) => !tooWide(f));
  // With the directory's changes come the changed headers the complaint names: 6.12.117's
  // drivers/base/syscore.c stopped at ‘struct syscore’ (include/linux/syscore_ops.h) alone, and
  // with drivers/base/ in bus.c; five rounds of other names later it stopped at syscore.c again.
  if (r.outcome === "build-error" && others.length) {
    others = [...others, ...namedBy(`${r.reason}`, [file, ...others]).filter((f) => f.endsWith(".h"))];
  }
  for (let attempt = 0; r.outcome === "build-error" && attempt < MAX_ATTEMPTS; attempt++) {
    // First the directory's other changes; then also the changed files elsewhere (include/
    // headers mostly) whose diff names an identifier the compiler complained about, or that
    // the update adds; again, while the wider fix stops at a further such file.
    if (attempt >= 1) {
      // What the compiler names first; the driver's subtree only when it names nothing the update
      // changed (udlfb.c's ‘mmap_count’ is in include/video/udlfb.h, not in fbdev/core/); the
      // changed headers the failing file includes when neither finds anything.
      const have = [file, ...others];
      const byName = namedBy(`${r.reason}`, have);
      const bySubtree = byName.length ? [] : subtreeOf(file, `${r.reason}`, have);
      const named = byName.length ? byName : bySubtree.length ? bySubtree : includedBy(`${r.reason}`, have);
      if (!named.length) break;
      others = [...others, ...named];
    }
    if (!others.length) continue;
    const together = path.join(work, "patches", `${file.replace(/\//g, "__")}+${attempt ? `named${attempt > 1 ? attempt : ""}` : "dir"}.patch`);
    fs.writeFileSync(together, patchOf([file, ...others]));
    log(`${file}: does not compile (${r.reason.slice(0, 160)}); again with ${others.join(", ")}`);
    const again = runCase(file, together, patchSha, path.join(work, "modules"));
    r = { ...again, with: others, buildSeconds: r.buildSeconds + again.buildSeconds };
  }
  log(`${file}: ${r.outcome}${r.reason ? ` — ${r.reason}` : ""} (build ${r.buildSeconds.toFixed(0)} s, VM ${r.vmSeconds.toFixed(0)} s)`);
  fs.appendFileSync(resultsFile, JSON.stringify(r) + "\n");
  results.push(r);
}
const text = report(results, changed.length, pending);
if (values.report) fs.writeFileSync(values.report, text);
process.stdout.write(text);
