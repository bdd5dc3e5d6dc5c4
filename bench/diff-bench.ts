// Benchmark (not a test): how long `klp diff ORIG.o PATCHED.o --json` takes as a whole process on
// real kernel object pairs — every object the Debian config builds in one kernel directory,
// built before and after a patch — against two baselines on the same machine: Node start-up
// (`node -e 0`) and binutils' `readelf -a` reading the same pair (a C reader doing comparable I/O).
//
//   node dist/bench/diff-bench.js [DIR] [--patch FILE|-] [--runs N] [--bin main|bundle|both] [--json]
//
//   DIR      kernel directory (default fs/proc)
//   --patch  -p1 patch against the kernel tree (default bench/patches/<DIR with / as ->.patch when it
//            exists, else `-`: a plain rebuild, both builds from the same source)
//   --runs   timed runs per pair and program (default 5)
//   --bin    which klp entry point to time: dist/src/cli/main.js (ES modules), dist/klp.cjs (the
//            bundle `klp` ships as) or both (default)
//   --json   one JSON object on stdout instead of the table
//
// The pairs are built with scripts/build-pair.sh into $KLP_CACHE/pairs/bench-<DIR>-<patch> and
// reused while the patch, the object list and the tree are unchanged.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BINS = {
  main: path.join(repoRoot, "dist/src/cli/main.js"),
  bundle: path.join(repoRoot, "dist/klp.cjs"),
} as const;
type Bin = keyof typeof BINS;

interface Options {
  dir: string;
  patch: string;
  runs: number;
  bins: Bin[];
  json: boolean;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`diff-bench: ${msg}\n`);
  process.stderr.write("usage: node dist/bench/diff-bench.js [DIR] [--patch FILE|-] [--runs N] [--bin main|bundle|both] [--json]\n");
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  let dir: string | undefined, patch: string | undefined, runs = 5, bin = "both", json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === "--json") json = true;
    else if (a === "--patch") patch = value();
    else if (a === "--runs") runs = Number(value());
    else if (a === "--bin") bin = value();
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else usage(`unexpected argument ${a}`);
  }
  dir = (dir ?? "fs/proc").replace(/\/+$/, "");
  if (!Number.isInteger(runs) || runs < 1) usage("--runs must be a positive integer");
  if (bin !== "main" && bin !== "bundle" && bin !== "both") usage("--bin must be main, bundle or both");
  if (patch === undefined) {
    const dflt = path.join(repoRoot, "bench/patches", `${dir.replace(/\//g, "-")}.patch`);
    patch = fs.existsSync(dflt) ? dflt : "-";
  }
  return { dir, patch, runs, bins: bin === "both" ? ["main", "bundle"] : [bin], json };
}

const log = (msg: string) => process.stderr.write(`diff-bench: ${msg}\n`);

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

// ---------------------------------------------------------------------------------------------
// Which objects the config builds in DIR: kbuild's own lists (obj-y/obj-m, composite objects
// expanded through their -y/-objs lists) evaluated by make against include/config/auto.conf.

const LIST_OBJECTS_MK = `
include include/config/auto.conf
include $(if $(wildcard $(src)/Kbuild),$(src)/Kbuild,$(src)/Makefile)
expand = $(foreach o,$(1),$(if $(filter %/,$(o)),,$(if $(strip $($(o:.o=-y)) $($(o:.o=-objs))),$($(o:.o=-y)) $($(o:.o=-objs)),$(o))))
klp-bench-objects:
\t@echo $(sort $(call expand,$(obj-y) $(obj-m)))
`;

function configuredObjects(tree: string, dir: string): string[] {
  const mk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "klp-bench-")), "objects.mk");
  fs.writeFileSync(mk, LIST_OBJECTS_MK);
  const r = run("make", ["-s", "--no-print-directory", "-C", tree, "-f", mk, `src=${dir}`, `obj=${dir}`, "srctree=.", "klp-bench-objects"]);
  fs.rmSync(path.dirname(mk), { recursive: true, force: true });
  let names: string[];
  if (r.status === 0 && r.stdout.trim()) {
    names = r.stdout.trim().split(/\s+/);
  } else {
    log(`could not evaluate ${dir}/Makefile (${r.stderr.trim().split("\n")[0] ?? ""}); trying every .c file`);
    names = fs.readdirSync(path.join(tree, dir)).filter((f) => f.endsWith(".c")).map((f) => f.replace(/\.c$/, ".o"));
  }
  // Only objects compiled from a C file of the tree (not assembler, not generated sources).
  return [...new Set(names)].filter((o) => !o.includes("/") && fs.existsSync(path.join(tree, dir, o.replace(/\.o$/, ".c")))).map((o) => `${dir}/${o}`);
}

/**
 * Builds every pair with one build-pair.sh run; if make fails for the batch, builds the objects
 * one by one and skips the ones make refuses. Returns [object, orig, patched] for each pair built.
 */
function buildPairs(opts: Options, tree: string): { pairs: [string, string, string][]; skipped: string[] } {
  const objects = configuredObjects(tree, opts.dir);
  if (!objects.length) throw new Error(`no C objects configured in ${opts.dir}`);
  const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
  const tag = opts.patch === "-" ? "rebuild" : path.basename(opts.patch).replace(/\.patch$/, "");
  const outdir = path.join(cache, "pairs", `bench-${opts.dir.replace(/\//g, "-")}-${tag}`);
  const script = path.join(repoRoot, "scripts/build-pair.sh");
  const pair = (o: string, dir: string): [string, string, string] => [o, path.join(dir, "orig", o), path.join(dir, "patched", o)];
  log(`building ${objects.length} objects of ${opts.dir} before/after ${opts.patch === "-" ? "a plain rebuild" : opts.patch} into ${outdir}`);
  const all = spawnSync("bash", [script, opts.patch, outdir, ...objects], { stdio: ["ignore", "ignore", "inherit"] });
  if (all.status === 0) return { pairs: objects.map((o) => pair(o, outdir)), skipped: [] };

  log(`build-pair.sh failed for the whole directory (exit ${all.status}); building objects one at a time`);
  const pairs: [string, string, string][] = [], skipped: string[] = [];
  for (const o of objects) {
    const one = path.join(`${outdir}-one`, o.replace(/\//g, "_"));
    const r = spawnSync("bash", [script, opts.patch, one, o], { stdio: ["ignore", "ignore", "ignore"] });
    if (r.status === 0) pairs.push(pair(o, one));
    else {
      skipped.push(o);
      log(`skipping ${o}: make refuses it (build-pair.sh exit ${r.status})`);
    }
  }
  return { pairs, skipped };
}

// ---------------------------------------------------------------------------------------------
// Timing: whole processes, wall clock, spawnSync on both sides.

function timeMs(cmd: string, args: string[], stdout: "pipe" | "ignore"): { ms: number; status: number | null; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", stdout, "pipe"], encoding: "utf8", maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { ms, status: r.status, stdout: r.stdout ?? "" };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** Nearest-rank percentile. */
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

interface PairResult {
  object: string;
  exit: number | null;
  changed: number;
  new: number;
  refused: number;
  /** Median wall time (ms) per klp entry point. */
  klp: Partial<Record<Bin, number>>;
  readelf: number;
  sizes: [number, number];
}

function benchPair(opts: Options, object: string, orig: string, patched: string): PairResult {
  const klp: Partial<Record<Bin, number>> = {};
  let exit: number | null = null, changed = 0, added = 0, refused = 0;
  for (const bin of opts.bins) {
    const times: number[] = [];
    for (let k = 0; k < opts.runs; k++) {
      const r = timeMs(process.execPath, [BINS[bin], "diff", orig, patched, "--json"], "pipe");
      times.push(r.ms);
      if (exit === null || r.status !== exit) {
        if (exit !== null) log(`${object}: ${bin} exited ${r.status}, earlier runs ${exit}`);
        exit = r.status;
        try {
          const j = JSON.parse(r.stdout) as { changed?: unknown[]; new?: unknown[]; refused?: unknown[] };
          changed = j.changed?.length ?? 0;
          added = j.new?.length ?? 0;
          refused = j.refused?.length ?? 0;
        } catch {
          log(`${object}: ${bin} printed no JSON (exit ${r.status})`);
        }
      }
    }
    klp[bin] = median(times);
  }
  const re: number[] = [];
  for (let k = 0; k < opts.runs; k++) re.push(timeMs("readelf", ["-a", "-W", orig, patched], "ignore").ms);
  return { object, exit, changed, new: added, refused, klp, readelf: median(re), sizes: [fs.statSync(orig).size, fs.statSync(patched).size] };
}

// ---------------------------------------------------------------------------------------------

function main(): number {
  const opts = parseOptions(process.argv.slice(2));
  for (const bin of opts.bins) {
    if (!fs.existsSync(BINS[bin])) usage(`${path.relative(repoRoot, BINS[bin])} not found: run npm run build first`);
  }
  const treeRun = run("bash", [path.join(repoRoot, "scripts/kernel-tree.sh")], { stdio: ["ignore", "pipe", "inherit"] });
  const tree = treeRun.stdout.trim().split("\n").pop() ?? "";
  if (treeRun.status !== 0 || !fs.existsSync(tree)) throw new Error(`scripts/kernel-tree.sh failed (exit ${treeRun.status})`);
  if (!fs.existsSync(path.join(tree, opts.dir))) usage(`${opts.dir} is not a directory of ${tree}`);

  const { pairs, skipped } = buildPairs(opts, tree);
  if (!pairs.length) throw new Error("no object pair could be built");

  // Baseline: Node start-up, and one warm-up of every program so the first pair pays no cold cache.
  log(`timing: node -e 0 ×20, then ${pairs.length} pairs × ${opts.runs} runs × (${opts.bins.map((b) => `klp ${b}`).join(", ")}, readelf -a)`);
  for (const bin of opts.bins) timeMs(process.execPath, [BINS[bin], "diff", pairs[0]![1], pairs[0]![2], "--json"], "pipe");
  timeMs(process.execPath, ["-e", "0"], "ignore");
  const nodeStart = median(Array.from({ length: 20 }, () => timeMs(process.execPath, ["-e", "0"], "ignore").ms));

  const results = pairs.map(([o, a, b]) => benchPair(opts, o, a, b));

  const summary: Record<string, unknown> = {};
  for (const bin of opts.bins) {
    const meds = results.map((r) => r.klp[bin]!);
    summary[bin] = {
      median: median(meds), p90: percentile(meds, 90), max: Math.max(...meds), total: sum(meds),
      overNodeStartup: median(meds) / nodeStart, workMs: median(meds) - nodeStart,
      overReadelf: sum(meds) / sum(results.map((r) => r.readelf)),
    };
  }
  const re = results.map((r) => r.readelf);
  summary["readelf"] = { median: median(re), p90: percentile(re, 90), max: Math.max(...re), total: sum(re) };
  const exits: Record<string, number> = {};
  for (const r of results) exits[String(r.exit)] = (exits[String(r.exit)] ?? 0) + 1;
  const bad = results.filter((r) => r.exit === null || (r.exit !== 0 && r.exit !== 1 && r.exit !== 3));

  if (opts.json) {
    process.stdout.write(JSON.stringify({
      dir: opts.dir, patch: opts.patch === "-" ? null : path.relative(repoRoot, opts.patch), tree, runs: opts.runs,
      node: process.version, cpus: os.cpus().length, baseline: { nodeStartupMs: nodeStart }, exits, skipped,
      pairs: results, summary,
    }, null, 2) + "\n");
  } else {
    printTable(opts, results, nodeStart, summary, exits, skipped);
  }
  if (bad.length) log(`klp diff failed on ${bad.map((r) => `${r.object} (exit ${r.exit})`).join(", ")}`);
  return bad.length ? 1 : 0;
}

function printTable(opts: Options, results: PairResult[], nodeStart: number, summary: Record<string, unknown>, exits: Record<string, number>, skipped: string[]): void {
  const f1 = (x: number) => x.toFixed(1);
  const name = Math.max(6, ...results.map((r) => r.object.length));
  const cols = [...opts.bins.map((b) => `klp ${b}`), "readelf"];
  const out: string[] = [];
  out.push(`klp diff --json on ${results.length} object pairs of ${opts.dir} (${opts.patch === "-" ? "plain rebuild" : path.relative(repoRoot, opts.patch)}); median of ${opts.runs} runs, ms, whole processes`);
  out.push(`${"object".padEnd(name)}  exit  chg new ref  ${cols.map((c) => c.padStart(11)).join("")}  ${"KiB".padStart(6)}`);
  for (const r of results) {
    const t = [...opts.bins.map((b) => r.klp[b]!), r.readelf];
    out.push(`${r.object.padEnd(name)}  ${String(r.exit).padStart(4)}  ${String(r.changed).padStart(3)} ${String(r.new).padStart(3)} ${String(r.refused).padStart(3)}  ${t.map((x) => f1(x).padStart(11)).join("")}  ${(r.sizes[1] / 1024).toFixed(0).padStart(6)}`);
  }
  out.push("");
  out.push(`node -e 0 (start-up baseline, median of 20): ${f1(nodeStart)} ms`);
  out.push(`exit codes: ${Object.entries(exits).map(([k, v]) => `${k}×${v}`).join(" ")}${skipped.length ? `; skipped (make refused): ${skipped.join(" ")}` : ""}`);
  out.push(`${"".padEnd(12)}${["median", "p90", "max", "total", "÷ node -e 0", "− node -e 0", "÷ readelf"].map((c) => c.padStart(12)).join("")}`);
  for (const bin of opts.bins) {
    const s = summary[bin] as { median: number; p90: number; max: number; total: number; overNodeStartup: number; workMs: number; overReadelf: number };
    out.push(`${`klp ${bin}`.padEnd(12)}${[f1(s.median), f1(s.p90), f1(s.max), f1(s.total), `${s.overNodeStartup.toFixed(2)}×`, f1(s.workMs), `${s.overReadelf.toFixed(2)}×`].map((c) => c.padStart(12)).join("")}`);
  }
  const r = summary["readelf"] as { median: number; p90: number; max: number; total: number };
  out.push(`${"readelf -a".padEnd(12)}${[f1(r.median), f1(r.p90), f1(r.max), f1(r.total), `${(r.median / nodeStart).toFixed(2)}×`, "", "1.00×"].map((c) => c.padStart(12)).join("")}`);
  process.stdout.write(out.join("\n") + "\n");
}

try {
  process.exitCode = main();
} catch (e) {
  log(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
}
