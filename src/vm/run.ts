// `klp vm-test`: check the inputs, build the initramfs, boot the target kernel with the
// livepatch, and turn /init's markers and the console into a report (plain data).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { badInput } from "../errors.js";
import { consoleLines, parseMarkers, scanConsole, type ExpectedWarning, type Markers, type Problem } from "./console.js";
import { buildInitramfs, findBusybox } from "./initramfs.js";
import { initScript, MODPROBE, modprobeScript, SERVED_MAP, servedMap, type VmPlan } from "./init-script.js";
import { readModuleInfo } from "./modinfo.js";
import { moduleBytes, resolveLoadOrder, type LoadModule, type ModuleIndex } from "./modules.js";
import { kernelImage, type KernelImage } from "./kernel-image.js";
import { requestedNames, serve, servesMore, type ServedRequest } from "./requests.js";
import { CONSOLE_MAX, kvmFailed, kvmUsable, runQemu, type Accel, type QemuRun } from "./qemu.js";

export const DEFAULT_TIMEOUT_SECONDS = 120;

/** The kernel the VM boots, as the target model resolved it. */
export interface VmKernel {
  readonly release: string;
  /** The bootable image (bzImage). */
  readonly vmlinuz: string;
  readonly modules: ModuleIndex;
  /** Names the unpacked image in the cache (release and package version). */
  readonly imageKey: string;
  readonly cacheRoot: string;
}

export interface VmTestOptions {
  readonly module: string;
  readonly kernel: VmKernel;
  readonly preload: readonly string[];
  readonly postload: readonly string[];
  readonly checks: readonly string[];
  readonly timeoutSeconds: number;
  /** Regular expressions (sources) of WARNINGs that must appear and are then allowed. */
  readonly expectWarn: readonly string[];
  readonly accel: Accel | "auto";
  /** Boot the bzImage through its decompressor instead of the cached uncompressed kernel. */
  readonly bzimage?: boolean;
  /** Write the whole serial console here. */
  readonly consoleFile?: string;
}

export type StepStatus = "pass" | "fail" | "skipped";

export interface VmStep {
  readonly id: string;
  readonly label: string;
  readonly status: StepStatus;
  /** Duration in seconds (guest uptime for VM steps), when known. */
  readonly seconds: number | null;
  readonly detail: string;
  /** Console lines printed while the step ran (failed steps only). */
  readonly output: readonly string[];
}

export interface VmTestReport {
  readonly passed: boolean;
  readonly exitCode: 0 | 1;
  readonly module: string;
  readonly livepatch: string;
  readonly kernel: string;
  readonly accel: Accel;
  /** The file qemu booted and how (see kernel-image.ts). */
  readonly image: KernelImage;
  readonly preload: readonly LoadModule[];
  readonly postload: readonly LoadModule[];
  readonly checks: readonly string[];
  readonly steps: readonly VmStep[];
  /**
   * Every name the kernel asked modprobe for (request_module), with the target's modules the VM
   * loaded for it: a run where an insmod failed after such a request boots again with them.
   */
  readonly requests: readonly ServedRequest[];
  /** Boots it took: more than one when modules the kernel asked for were added (requests). */
  readonly boots: number;
  /** Unexpected kernel trouble found on the console after a livepatch was loaded. */
  readonly problems: readonly Problem[];
  /** Trouble printed before any livepatch was loaded: the kernel's own, reported, not a failure. */
  readonly problemsBeforeLivepatch: readonly Problem[];
  readonly expectedWarnings: readonly ExpectedWarning[];
  readonly timedOut: boolean;
  readonly timing: { readonly initramfsSeconds: number; readonly vmSeconds: number; readonly bootSeconds: number | null; readonly totalSeconds: number };
  readonly qemu: readonly string[];
  readonly consoleFile?: string;
  readonly consoleLines: number;
  readonly consoleTail: readonly string[];
}

interface Prepared {
  readonly opts: VmTestOptions;
  readonly livepatch: string;
  readonly vmlinuz: string;
  readonly preload: LoadModule[];
  readonly postload: LoadModule[];
  readonly expectWarn: RegExp[];
}

/** Every check that needs no VM: bad input is reported before anything boots. */
export function prepare(opts: VmTestOptions): Prepared {
  if (!Number.isFinite(opts.timeoutSeconds) || opts.timeoutSeconds <= 0) throw badInput(undefined, `vm-test: --timeout must be a positive number of seconds, not '${opts.timeoutSeconds}'`);
  const expectWarn = opts.expectWarn.map((src) => {
    try {
      return new RegExp(src);
    } catch (e) {
      throw badInput(undefined, `vm-test: --expect-warn '${src}' is not a valid regular expression (${(e as Error).message})`);
    }
  });
  if (!opts.module.endsWith(".ko")) throw badInput(opts.module, "not a kernel module (expected a .ko file)");
  const info = readModuleInfo(opts.module);
  const vmlinuz = opts.kernel.vmlinuz;
  if (!fs.existsSync(vmlinuz)) throw badInput(vmlinuz, `no kernel image for ${opts.kernel.release}`);
  if (!info.livepatch) throw badInput(opts.module, "not a livepatch module (no livepatch=Y in .modinfo)");
  if (info.release && info.release !== opts.kernel.release) throw badInput(opts.module, `built for kernel ${info.release}, not ${opts.kernel.release} (--kernel)`);
  for (const c of opts.checks) {
    if (!fs.existsSync(c)) throw badInput(c, "check script: no such file");
    if (!fs.statSync(c).isFile()) throw badInput(c, "check script: not a regular file");
  }
  const index = opts.kernel.modules;
  const lpDeps = info.depends.filter((d) => !index.builtin.has(d));
  // What the livepatch itself depends on (depends= in .modinfo) must be there before it.
  const preload = resolveLoadOrder(index, lpDeps, `dependency of ${info.name}:`)
    .map((m) => ({ ...m, reason: m.reason === m.name ? `needed by ${info.name}` : m.reason }));
  preload.push(...resolveLoadOrder(index, opts.preload, "--preload", new Set(preload.map((m) => m.name))));
  if (preload.some((m) => m.name === info.name)) throw badInput(undefined, `--preload: ${info.name} is the livepatch module itself`);
  const before = new Set([...preload.map((m) => m.name), info.name]);
  const postload = resolveLoadOrder(index, opts.postload, "--postload", before);
  return { opts, livepatch: info.name, vmlinuz, preload, postload, expectWarn };
}

const VM_DIR = "/klp";

/** Where a module put into the VM for request_module lives there. */
const servedFile = (m: LoadModule) => `${VM_DIR}/served/${m.name}.ko`;

function plan(p: Prepared, served: readonly ServedRequest[]): VmPlan {
  return {
    livepatch: { name: p.livepatch, file: `${VM_DIR}/${p.livepatch}.ko` },
    served: served.map((r) => ({ name: r.name, files: r.modules.map(servedFile) })),
    preload: p.preload.map((m, i) => ({ name: m.name, file: `${VM_DIR}/pre/${i}-${m.name}.ko`, ...(m.optional ? { optional: true } : {}) })),
    postload: p.postload.map((m, i) => ({ name: m.name, file: `${VM_DIR}/post/${i}-${m.name}.ko`, ...(m.optional ? { optional: true } : {}) })),
    checks: p.opts.checks.map((_, i) => ({ id: String(i + 1), file: `${VM_DIR}/check-${i + 1}.sh` })),
    enableWaitSeconds: Math.max(5, Math.min(60, Math.floor(p.opts.timeoutSeconds / 2))),
  };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/**
 * Boots beyond the first for modules the kernel asked for while an insmod failed: rxrpc's crypto
 * takes two (pcbc, then the fcrypt that pcbc(fcrypt) asks for once pcbc is there).
 */
const MAX_EXTRA_BOOTS = 3;

/**
 * True when a module's insmod failed in the VM (a module its init asks for may be missing); a
 * failing check is the test's own verdict, and booting again with more modules would not change it.
 */
function aModuleFailedToLoad(r: VmTestReport): boolean {
  return r.steps.some((s) => s.status === "fail" && /^(preload:|postload:|livepatch:load$)/.test(s.id));
}

/** Runs the whole test; throws KlpError for bad input, otherwise returns the report. */
export function runVmTest(opts: VmTestOptions, log: (s: string) => void = () => {}): VmTestReport {
  const t0 = process.hrtime.bigint();
  const p = prepare(opts);
  const busybox = findBusybox();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-vm-"));
  try {
    const initrd = path.join(tmp, "initramfs.gz");
    // What every boot holds, read (and decompressed) once; a boot again adds the served modules.
    const fixed = plan(p, []);
    const fixedFiles = [
      { path: fixed.livepatch.file, data: fs.readFileSync(opts.module) },
      ...p.preload.map((m, i) => ({ path: fixed.preload[i]!.file, data: moduleBytes(m.path) })),
      ...p.postload.map((m, i) => ({ path: fixed.postload[i]!.file, data: moduleBytes(m.path) })),
      ...opts.checks.map((c, i) => ({ path: fixed.checks[i]!.file, data: fs.readFileSync(c), mode: 0o755 })),
      { path: MODPROBE, data: Buffer.from(modprobeScript()), mode: 0o755 },
    ];
    /** Writes the initramfs that serves `served`; returns its plan. */
    const writeInitrd = (served: readonly ServedRequest[]): VmPlan => {
      const vmPlan = plan(p, served);
      const modules = new Map(served.flatMap((r) => r.modules).map((m) => [servedFile(m), m]));
      const files = [
        ...fixedFiles,
        { path: SERVED_MAP, data: Buffer.from(servedMap(vmPlan.served)) },
        ...[...modules].map(([file, m]) => ({ path: file, data: moduleBytes(m.path) })),
      ];
      fs.writeFileSync(initrd, buildInitramfs({ busybox, init: initScript(vmPlan), files }));
      return vmPlan;
    };
    let served: ServedRequest[] = [];
    let vmPlan = writeInitrd(served);
    const initramfsSeconds = seconds(t0);

    let image = kernelImage(p.vmlinuz, opts.kernel.imageKey, opts.bzimage ? "bzimage" : "auto", log, opts.kernel.cacheRoot);
    let accel: Accel = opts.accel === "auto" ? (kvmUsable() ? "kvm" : "tcg") : opts.accel;
    log(`booting ${opts.kernel.release} with ${p.livepatch} (${accel}, ${image.entry}, time limit ${opts.timeoutSeconds} s)`);
    const boot = () => runQemu({ vmlinuz: image.file, initrd, accel }, opts.timeoutSeconds);
    const bootOnce = (): QemuRun => {
      let run = boot();
      if (accel === "kvm" && opts.accel === "auto" && kvmFailed(run)) {
        log(`KVM did not work (${firstLine(run.stderr)}); booting again with TCG`);
        accel = "tcg";
        run = boot();
      }
      if (image.entry === "pvh" && !run.timedOut && !run.flooded && !kvmFailed(run) && !run.console.includes("KLPVM:")) {
        const why = `the uncompressed kernel did not reach /init (qemu exit ${run.status ?? run.signal}${run.stderr.trim() ? `: ${firstLine(run.stderr)}` : ""})`;
        log(`${why}; booting ${p.vmlinuz} instead`);
        image = { file: p.vmlinuz, entry: "bzimage", note: why };
        run = boot();
      }
      return run;
    };
    let run = bootOnce();
    let boots = 1;
    let vmSeconds = run.seconds;
    let report = analyse(p, vmPlan, accel, image, run, served, boots, initramfsSeconds, vmSeconds, seconds(t0));
    for (; aModuleFailedToLoad(report) && boots <= MAX_EXTRA_BOOTS; boots++) {
      const more = serve(opts.kernel.modules, report.requests.map((r) => r.name), served);
      if (!servesMore(more, served)) break;
      const added = more.filter((r) => r.modules.length && !served.includes(r)).map((r) => `${r.name} (${r.modules.map((m) => m.name).join(", ")})`);
      log(`the kernel asked for modules the VM lacked; booting again with ${added.join(", ")}`);
      served = more;
      vmPlan = writeInitrd(served);
      run = bootOnce();
      vmSeconds += run.seconds;
      report = analyse(p, vmPlan, accel, image, run, served, boots + 1, initramfsSeconds, vmSeconds, seconds(t0));
    }
    if (opts.consoleFile) fs.writeFileSync(opts.consoleFile, run.console);
    return report;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const OUTPUT_MAX = 40;
const TAIL = 30;

function firstLine(s: string): string {
  return s.trim().split("\n").find((l) => !/warning: host doesn't support/.test(l)) ?? "";
}

function analyse(p: Prepared, vmPlan: VmPlan, accel: Accel, image: KernelImage, run: QemuRun, served: readonly ServedRequest[], boots: number,
  initramfsSeconds: number, vmSeconds: number, totalSeconds: number): VmTestReport {
  const lines = consoleLines(run.console);
  const requests = requestedNames(lines).map((name) => served.find((r) => r.name === name) ?? { name, modules: [] });
  const markers = parseMarkers(lines);
  const scan = scanConsole(lines, p.expectWarn);
  // Trouble printed before any livepatch was loaded is the kernel's own, not the livepatch's:
  // Debian 6.1's ecdh_generic (which bluetooth needs) fails its crypto self-test under TCG with a
  // WARNING while it loads. It is reported, and does not fail the run.
  const firstLivepatch = [...p.preload.filter((m) => m.fromFile && readModuleInfo(m.path).livepatch).map((m) => `preload:${m.name}`), "livepatch:load"]
    .map((id) => markers.steps.find((s) => s.id === id)?.line).find((l) => l !== undefined);
  const baseline = firstLivepatch === undefined ? [] : scan.problems.filter((x) => x.lineNo - 1 < firstLivepatch);
  const problems = scan.problems.filter((x) => !baseline.includes(x));
  const labels = new Map<string, string>([
    ["boot", `boot ${p.opts.kernel.release} (${accel}, ${image.entry})`],
    ...p.preload.map((m): [string, string] => [`preload:${m.name}`, `preload ${m.name}${m.reason === m.name ? "" : ` (${m.reason})`}`]),
    ["livepatch:load", `load livepatch ${path.basename(p.opts.module)}`],
    ["livepatch:enable", `enable ${p.livepatch} (transition finished)`],
    ...p.postload.map((m): [string, string] => [`postload:${m.name}`, `postload ${m.name}${m.reason === m.name ? "" : ` (${m.reason})`}`]),
    ...p.opts.checks.map((c, i): [string, string] => [`check:${vmPlan.checks[i]!.id}`, `check ${c}`]),
  ]);
  const steps: VmStep[] = [];
  const why = run.timedOut ? `timed out after ${p.opts.timeoutSeconds} s`
    : run.flooded ? `stopped: the console passed ${CONSOLE_MAX >> 20} MB` : `the VM stopped (panic or reset) before the step ended (qemu exit ${run.status ?? run.signal})`;
  for (const [id, label] of labels) steps.push(vmStep(id, label, markers, lines, why, run));
  const allRan = steps.every((s) => s.status === "pass");
  if (allRan) {
    const ok = markers.done && !run.timedOut && !run.flooded;
    steps.push({
      id: "shutdown", label: "power off", status: ok ? "pass" : "fail", seconds: null, output: [],
      detail: ok ? "clean power-off" : run.timedOut || run.flooded ? why : "the VM ended before /init finished",
    });
  }
  scan.expected.forEach((e, k) => {
    steps.push({
      id: `expect-warn:${k + 1}`, label: `expected WARNING /${e.pattern}/`, status: e.matched.length ? "pass" : "fail", seconds: null, output: [],
      detail: e.matched.length ? `seen ${e.matched.length}x: ${e.matched[0]}` : "no WARNING matching it appeared on the console",
    });
  });
  const booted = steps[0]!.status === "pass";
  const listed = (xs: readonly Problem[]) => xs.map((x) => `${x.kinds.join("+")} at line ${x.lineNo}`).join(", ");
  if (baseline.length) {
    steps.push({
      id: "console:before-livepatch", label: "kernel trouble before any livepatch was loaded (not counted)", status: "pass", seconds: null, output: [],
      detail: `${baseline.length} problem(s): ${listed(baseline)}; first: ${baseline[0]!.line}`,
    });
  }
  steps.push({
    id: "console", label: "console free of Oops/BUG/WARNING/panic/GPF/Call Trace",
    status: problems.length ? "fail" : booted ? "pass" : "skipped", seconds: null, output: [],
    detail: problems.length
      ? `${problems.length} problem(s): ${listed(problems)}`
      : booted ? `${lines.length} lines checked` : "the VM did not boot",
  });
  const passed = steps.every((s) => s.status === "pass");
  const boot = markers.steps.find((s) => s.id === "boot")?.end?.t ?? null;
  return {
    passed, exitCode: passed ? 0 : 1,
    module: p.opts.module, livepatch: p.livepatch, kernel: p.opts.kernel.release, accel, image,
    preload: p.preload, postload: p.postload, checks: [...p.opts.checks],
    steps, requests, boots, problems, problemsBeforeLivepatch: baseline, expectedWarnings: scan.expected, timedOut: run.timedOut,
    timing: { initramfsSeconds: round(initramfsSeconds), vmSeconds: round(vmSeconds), bootSeconds: boot, totalSeconds: round(totalSeconds) },
    qemu: ["qemu-system-x86_64", ...run.args],
    ...(p.opts.consoleFile ? { consoleFile: p.opts.consoleFile } : {}),
    consoleLines: lines.length,
    consoleTail: lines.slice(-TAIL),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function vmStep(id: string, label: string, markers: Markers, lines: readonly string[], why: string, run: QemuRun): VmStep {
  const m = markers.steps.find((s) => s.id === id);
  if (!m) {
    if (id === "boot") {
      const err = run.stderr.trim().split("\n").filter((l) => l && !/warning: host doesn't support/.test(l)).slice(0, 3).join(" | ");
      return { id, label, status: "fail", seconds: null, output: [], detail: `/init never started: ${why}${err ? ` (qemu: ${err})` : ""}` };
    }
    return { id, label, status: "skipped", seconds: null, output: [], detail: "not reached" };
  }
  const end = m.end;
  const output = lines.slice(m.line + 1, end ? end.line : lines.length).filter((l) => !l.includes("KLPVM:"));
  if (end) {
    return {
      id, label, status: end.status, seconds: round(end.t - m.t), detail: end.msg,
      output: end.status === "fail" ? output.slice(-OUTPUT_MAX) : [],
    };
  }
  return { id, label, status: "fail", seconds: null, detail: `did not finish: ${why}`, output: output.slice(-OUTPUT_MAX) };
}
