// Deterministic fuzz of the diff pipeline, in-process: ~3000 mutants of three real objects
// compiled at test time (test/bad-input/sample.c with gcc-12, the line-shift-warn fixture with
// gcc-12, the jump-label fixture with clang-14) are each diffed against a good object with
// `runDiff` from src/diff.ts. Every mutant must either give a result, or throw a KlpError with
// code 2 (bad input) or 1 (refused) whose message is one line — and a code-2 message must name
// the mutant's file. Any other exception (RangeError, TypeError, a plain Error…) is a bug and
// fails the test with the mutant's number and description.
//
// The loop runs in a worker thread that reports each mutant before running it, so a hang or an
// out-of-memory names the mutant. Mutants are generated from a seeded PRNG, one independent
// stream per mutant, so any mutant can be replayed alone:
//
//   KLP_FUZZ_SEED=0x6b6c7001  KLP_FUZZ_COUNT=3000  KLP_FUZZ_ONLY=1234  node --test dist/test/fuzz.test.js
//
// Failing mutants are kept (with the command that reproduces them) in the printed directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import * as E from "./support/elf64.js";

const SEED = Number(process.env["KLP_FUZZ_SEED"] ?? 0x6b6c7001) >>> 0;
const COUNT = Number(process.env["KLP_FUZZ_COUNT"] ?? 3000);
const ONLY = process.env["KLP_FUZZ_ONLY"] === undefined ? undefined : Number(process.env["KLP_FUZZ_ONLY"]);
/** A mutant taking longer than this is a hang. */
const PER_MUTANT_MS = Number(process.env["KLP_FUZZ_MUTANT_TIMEOUT_MS"] ?? 15_000);

/** One good object to mutate and the good object it is diffed against (its patched build). */
interface Base {
  name: string;
  orig: string;
  patched: string;
}

interface WorkerInput {
  dir: string;
  bases: Base[];
  seed: number;
  count: number;
  only: number | undefined;
}

interface Failure {
  i: number;
  desc: string;
  kind: "exception" | "contract";
  error: string;
  stack: string;
  /** The kept copy of the mutant and the command that replays it. */
  repro: string;
}

type FromWorker =
  | { type: "ready" }
  | { type: "progress"; i: number; desc: string }
  | { type: "failure"; failure: Failure }
  | { type: "done"; stats: Stats };

interface Stats {
  mutants: number;
  returned: number;
  byExit: Record<string, number>;
  rejected2: number;
  refused1: number;
  failed: number;
  byKind: Record<string, number>;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: splitmix32 seeds one mulberry32 stream per mutant.

function splitmix32(a: number): number {
  a = (a + 0x9e3779b9) | 0;
  let t = a ^ (a >>> 16);
  t = Math.imul(t, 0x21f0aaad);
  t ^= t >>> 15;
  t = Math.imul(t, 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** mulberry32 */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
  u32(): number { return (this.next() * 4294967296) >>> 0; }
  weighted<T extends string>(w: Record<T, number>): T {
    const entries = Object.entries(w) as [T, number][];
    let r = this.next() * entries.reduce((a, [, x]) => a + x, 0);
    for (const [k, x] of entries) if ((r -= x) < 0) return k;
    return entries[entries.length - 1]![0];
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations. Each one edits the buffer (or returns a new one) and says what it did.

/** The structure of a good object, parsed once with the test's own helpers. */
interface Layout {
  buf: Buffer;
  sections: E.Shdr[];
  symtab: E.Shdr;
  strtab: E.Shdr;
  nsyms: number;
  relas: E.Shdr[];
  /** Sections with file contents (not NOBITS, not empty). */
  withData: E.Shdr[];
}

function layout(buf: Buffer): Layout {
  const sections = E.sections(buf);
  const symtab = E.symtab(buf);
  return {
    buf, sections, symtab, strtab: sections[symtab.link]!, nsyms: symtab.size / E.SYM_SIZE,
    relas: sections.filter((s) => s.type === E.SHT_RELA && s.size >= E.RELA_SIZE),
    withData: sections.filter((s) => s.index && s.type !== E.SHT_NOBITS && s.size > 0),
  };
}

/** Values that tend to break readers, for a field of `width` bytes. */
function interesting(rng: Rng, width: number, L: Layout, buf: Buffer): bigint {
  const shnum = L.sections.length;
  const pool: (number | bigint)[] = [
    0, 1, 2, 3, 4, 7, 8, 0x10, 0x18, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 2 ** 53, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, -1,
    buf.length, buf.length - 1, buf.length + 1, shnum, shnum - 1, shnum + 1, L.nsyms, L.nsyms - 1, L.nsyms + 1,
    0xff00, 0xfff1, 0xfff2, 0xffff, rng.range(0, 64), rng.u32(),
  ];
  return BigInt.asUintN(width * 8, BigInt(rng.pick(pool)));
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

type Mutator = (rng: Rng, buf: Buffer, L: Layout) => { buf?: Buffer; desc: string };

const EHDR_FIELDS = Object.keys(E.EHDR) as E.EhdrField[];
const SHDR_FIELDS = Object.keys(E.SHDR) as E.ShdrField[];
const SYM_FIELDS = Object.keys(E.SYM) as E.SymField[];

const MUTATORS: Record<string, Mutator> = {
  flip(rng, buf) {
    const n = rng.range(1, 8);
    const at: number[] = [];
    for (let k = 0; k < n; k++) {
      const o = rng.int(buf.length);
      buf[o] = buf[o]! ^ (1 << rng.int(8));
      at.push(o);
    }
    return { desc: `flip bits at ${at.map(hex).join(",")}` };
  },
  bytes(rng, buf) {
    const o = rng.int(buf.length), n = Math.min(rng.range(1, 4), buf.length - o);
    for (let k = 0; k < n; k++) buf[o + k] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
    return { desc: `${n} random byte(s) at ${hex(o)}` };
  },
  word(rng, buf, L) {
    const width = rng.pick([4, 8]);
    let o = rng.int(buf.length - width + 1);
    if (rng.chance(0.6)) o -= o % width;
    const v = interesting(rng, width, L, buf);
    E.setU(buf, o, width, v);
    return { desc: `${width}-byte ${hex(v)} at ${hex(o)}` };
  },
  ehdr(rng, buf, L) {
    if (rng.chance(0.15)) {
      const o = rng.range(4, 15), v = rng.pick([0, 1, 2, 3, 0xff, rng.int(256)]);
      buf[o] = v;
      return { desc: `e_ident[${o}] = ${v}` };
    }
    const f = rng.pick(EHDR_FIELDS);
    const v = interesting(rng, E.EHDR[f][1], L, buf);
    E.setEhdr(buf, f, v);
    return { desc: `${f} = ${hex(v)}` };
  },
  shdr(rng, buf, L) {
    const s = rng.pick(L.sections);
    // Offsets, sizes, links and alignment are what readers and writers trust most.
    const f = rng.chance(0.5) ? rng.pick(["sh_offset", "sh_size", "sh_link", "sh_info", "sh_addralign", "sh_entsize", "sh_type"] as const) : rng.pick(SHDR_FIELDS);
    const width = E.SHDR[f][1];
    const cur = BigInt(E.getU(buf, E.shdrFieldOff(s, f), width));
    const other = rng.pick(L.sections);
    const how = f === "sh_addralign" && rng.chance(0.5) ? "align" : rng.weighted({ interesting: 5, nearby: 2, other: 2 });
    const v = how === "align" ? BigInt.asUintN(64, BigInt(rng.pick([0, 3, 6, 0x1000, 0x10000, 2 ** 31, 2 ** 32, 2 ** 40, -1])))
      : how === "interesting" ? interesting(rng, width, L, buf)
      : rng.chance(0.5) ? BigInt.asUintN(width * 8, cur + BigInt(rng.pick([-8, -1, 1, 8, 24, 64])))
      : BigInt(E.getU(buf, E.shdrFieldOff(other, f), width));
    E.setShdr(buf, s, f, v);
    return { desc: `section ${s.index} (${s.name}) ${f} = ${hex(v)} (was ${hex(cur)})` };
  },
  sym(rng, buf, L) {
    const i = rng.int(L.nsyms);
    const at = L.symtab.offset + i * E.SYM_SIZE;
    const f = rng.pick(SYM_FIELDS);
    const width = E.SYM[f][1];
    let v: bigint;
    if (f === "st_shndx") v = BigInt(rng.pick([0, 0xfff1, 0xfff2, 0xffff, 0xff00, L.sections.length, L.sections.length - 1, rng.int(L.sections.length), rng.int(0x10000)]));
    else if (f === "st_info") v = BigInt(rng.chance(0.5) ? rng.int(256) : (rng.int(3) << 4) | rng.pick([0, 1, 2, 3, 4, 5, 6, 10, 15]));
    else if (f === "st_name") v = BigInt(rng.pick([L.strtab.size, L.strtab.size - 1, L.strtab.size + 1, 0, rng.int(L.strtab.size), 0xffffffff]));
    else v = interesting(rng, width, L, buf);
    E.setU(buf, at + E.SYM[f][0], width, v);
    return { desc: `symbol ${i} ${f} = ${hex(v)}` };
  },
  rela(rng, buf, L) {
    const s = rng.pick(L.relas);
    const i = rng.int(E.relaCount(s));
    const at = E.relaAt(s, i);
    const target = L.sections[s.info];
    const what = rng.pick(["r_offset", "sym", "type", "r_addend"] as const);
    if (what === "sym") {
      const v = rng.pick([0, L.nsyms, L.nsyms - 1, L.nsyms + 1, rng.int(L.nsyms), 0xffffffff, rng.u32()]);
      E.setRelaSym(buf, s, i, v);
      return { desc: `${s.name}[${i}] symbol = ${v}` };
    }
    if (what === "type") {
      const v = rng.pick([0, 1, 2, 4, 9, 10, 11, 24, 41, 42, 43, 0xffffffff, rng.int(64), rng.u32()]);
      buf.writeUInt32LE(v >>> 0, at + 8);
      return { desc: `${s.name}[${i}] type = ${v}` };
    }
    const size = target?.size ?? 0;
    const v = what === "r_offset" && rng.chance(0.5)
      ? BigInt.asUintN(64, BigInt(rng.pick([size, size - 1, size - 3, size - 7, size + 1, -1])))
      : interesting(rng, 8, L, buf);
    E.setU(buf, at + E.RELA[what][0], 8, v);
    return { desc: `${s.name}[${i}] ${what} = ${hex(v)}` };
  },
  contents(rng, buf, L) {
    // Inside one section's data: special sections (__bug_table, __jump_table, __mcount_loc…),
    // code, strings, string tables.
    const s = rng.pick(L.withData);
    const n = rng.range(1, 8);
    const o = s.offset + rng.int(s.size);
    for (let k = 0; k < n && o + k < s.offset + s.size; k++) buf[o + k] = rng.pick([0, 0xff, 0x2e, 0x41, rng.int(256)]);
    return { desc: `${n} byte(s) in ${s.name} at +${hex(o - s.offset)}` };
  },
  strings(rng, buf, L) {
    const s = rng.pick(L.sections.filter((x) => x.type === E.SHT_STRTAB));
    const o = rng.chance(0.3) ? s.offset + s.size - 1 : s.offset + rng.int(s.size);
    const v = rng.pick([0, 0x41, 0x2e, 0xff]);
    buf[o] = v;
    return { desc: `${s.name}[${o - s.offset}] = ${hex(v)}` };
  },
  truncate(rng, buf, L) {
    const s = rng.pick(L.withData);
    const shoff = E.ehdr(L.buf, "e_shoff");
    const len = rng.weighted({ anywhere: 3, header: 1, shdrs: 2, data: 2 }) === "anywhere" ? rng.int(buf.length)
      : rng.chance(0.33) ? rng.int(E.EHDR_SIZE + 1)
      : rng.chance(0.5) ? Math.min(buf.length - 1, shoff + rng.int(L.sections.length * E.SHDR_SIZE))
      : Math.min(buf.length - 1, s.offset + rng.int(s.size));
    return { buf: Buffer.from(buf.subarray(0, len)), desc: `truncate to ${len} of ${buf.length} bytes` };
  },
  truncateData(rng, _buf, L) {
    // Section headers first, then cut inside some section's data: the headers stay whole.
    const moved = E.shdrsFirst(L.buf);
    const s = rng.pick(layout(moved).withData);
    const len = s.offset + rng.int(s.size);
    return { buf: Buffer.from(moved.subarray(0, len)), desc: `section headers first, truncate inside ${s.name} at ${len}` };
  },
  extend(rng, buf) {
    const extra = Buffer.alloc(rng.range(1, 256));
    for (let k = 0; k < extra.length; k++) extra[k] = rng.int(256);
    return { buf: Buffer.concat([buf, extra]), desc: `append ${extra.length} random bytes` };
  },
};

const WEIGHTS: Record<keyof typeof MUTATORS | "multi", number> = {
  flip: 10, bytes: 6, word: 10, ehdr: 8, shdr: 20, sym: 15, rela: 12, contents: 8, strings: 4,
  truncate: 5, truncateData: 2, extend: 1, multi: 8,
};

/** Mutant `i`: which base, which file is mutated, the order, and the bytes. */
function makeMutant(seed: number, i: number, bases: readonly { base: Base; L: Layout }[]) {
  const rng = new Rng(splitmix32(seed ^ Math.imul(i, 0x9e3779b1)));
  const { base, L } = bases[i % bases.length]!;
  let buf: Buffer = Buffer.from(L.buf);
  const kind = rng.weighted(WEIGHTS);
  const descs: string[] = [];
  const steps = kind === "multi" ? rng.range(2, 5) : 1;
  for (let k = 0; k < steps; k++) {
    let m = kind;
    while (m === "multi" || (m.startsWith("truncate") && steps > 1)) m = rng.weighted(WEIGHTS);
    // Later steps of a multi-mutation use the layout of the good object: offsets still point
    // where the structures were, which is what a corrupting tool would hit too.
    const r = MUTATORS[m]!(rng, buf, L);
    if (r.buf) buf = r.buf;
    descs.push(m === kind ? r.desc : `${m}: ${r.desc}`);
  }
  // The other side: the good patched build (a real change) or the unmutated object itself.
  const partner = rng.chance(0.5) ? base.patched : base.orig;
  const mutantFirst = rng.chance(0.7);
  // Most runs also emit the livepatch object: the writer sees whatever the reader let through.
  const output = rng.chance(0.8);
  const desc = `#${i} [${base.name}] ${kind}: ${descs.join("; ")} — ${mutantFirst ? "diff MUTANT" : "diff"} ${path.basename(partner)}${mutantFirst ? "" : " MUTANT"}${output ? " -o" : ""}`;
  return { kind, buf, partner, mutantFirst, output, desc };
}

// ---------------------------------------------------------------------------------------------
// The worker: runs every mutant in-process and reports as it goes.

async function workerMain(input: WorkerInput): Promise<void> {
  const { runDiff } = await import("../src/diff.js");
  const { KlpError } = await import("../src/errors.js");
  const port = parentPort!;
  const post = (m: FromWorker) => port.postMessage(m);
  const bases = input.bases.map((base) => ({ base, L: layout(fs.readFileSync(base.orig)) }));
  const mutant = path.join(input.dir, "mutant.o");
  const outDir = path.join(input.dir, "out");
  const out = path.join(outDir, "OUT.o");
  const keep = path.join(input.dir, "failures");
  fs.mkdirSync(outDir, { recursive: true });
  const stats: Stats = { mutants: 0, returned: 0, byExit: {}, rejected2: 0, refused1: 0, failed: 0, byKind: {}, ms: 0 };
  post({ type: "ready" });
  const t0 = performance.now();

  const indices = input.only === undefined ? Array.from({ length: input.count }, (_, i) => i) : [input.only];
  for (const i of indices) {
    const m = makeMutant(input.seed, i, bases);
    post({ type: "progress", i, desc: m.desc });
    fs.writeFileSync(mutant, m.buf);
    const [a, b] = m.mutantFirst ? [mutant, m.partner] : [m.partner, mutant];
    stats.mutants++;
    stats.byKind[m.kind] = (stats.byKind[m.kind] ?? 0) + 1;

    const fail = (kind: Failure["kind"], error: string, stack: string) => {
      stats.failed++;
      fs.mkdirSync(keep, { recursive: true });
      const kept = path.join(keep, `mutant-${i}.o`);
      fs.copyFileSync(mutant, kept);
      const [ka, kb] = m.mutantFirst ? [kept, m.partner] : [m.partner, kept];
      const repro = `node dist/klp.cjs diff ${ka} ${kb}${m.output ? " -o /tmp/OUT.o" : ""}`;
      post({ type: "failure", failure: { i, desc: m.desc, kind, error, stack, repro } });
    };

    let threw: unknown = undefined;
    let exitCode: number | undefined;
    try {
      exitCode = runDiff(a, b, m.output ? { output: out } : {}).exitCode;
    } catch (e) {
      threw = e ?? new Error(`thrown ${String(e)}`);
    }
    const left = fs.readdirSync(outDir);
    if (threw === undefined) {
      stats.returned++;
      stats.byExit[String(exitCode)] = (stats.byExit[String(exitCode)] ?? 0) + 1;
      const expected = m.output && exitCode === 0 ? ["OUT.o"] : [];
      if (left.join() !== expected.join()) fail("contract", `returned exit ${exitCode} but the output directory holds [${left.join(", ")}]`, "");
    } else if (threw instanceof KlpError && (threw.code === 2 || threw.code === 1)) {
      if (threw.code === 2) stats.rejected2++;
      else stats.refused1++;
      if (threw.message.includes("\n")) fail("contract", `KlpError message has more than one line: ${JSON.stringify(threw.message)}`, "");
      else if (threw.code === 2 && !threw.message.includes(mutant)) fail("contract", `KlpError(2) does not name the mutant's file: ${threw.message}`, "");
      else if (left.length) fail("contract", `KlpError(${threw.code}) but the output directory holds [${left.join(", ")}]: ${threw.message}`, "");
    } else {
      const err = threw instanceof Error ? threw : new Error(String(threw));
      const what = threw instanceof KlpError ? `KlpError with code ${threw.code}: ${err.message}` : `${err.name}: ${err.message}`;
      fail("exception", what, (err.stack ?? "").split("\n").slice(1, 6).join("\n"));
    }
    for (const f of left) fs.rmSync(path.join(outDir, f), { force: true });
  }
  stats.ms = performance.now() - t0;
  post({ type: "done", stats });
}

// ---------------------------------------------------------------------------------------------
// The test: build the bases, run the worker with a per-mutant watchdog, report.

/** Error messages with numbers and paths folded, to group failures with one cause. */
const shape = (msg: string) => msg.replace(/\/\S+/g, "PATH").replace(/0x[0-9a-f]+|\d+/gi, "N").slice(0, 200);

async function mainThread(): Promise<void> {
  const { test } = await import("node:test");
  const assert = (await import("node:assert/strict")).default;
  const { compileFixture } = await import("./support/cc.js");
  const { repoRoot } = await import("./support/klp.js");

  test(`fuzz: ${ONLY === undefined ? COUNT : 1} mutants of 3 real objects through runDiff (seed 0x${SEED.toString(16)})`, { timeout: 300_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-fuzz-"));
    const fixture = (name: string, which: "orig" | "patched", cc: "gcc" | "clang") => {
      const out = path.join(dir, `${name}-${cc}-${which}.o`);
      compileFixture(path.join(repoRoot, "test/fixtures", name, `${which}.c`), out, cc);
      return out;
    };
    const bases: Base[] = [
      {
        name: "sample/gcc",
        orig: E.compileSample("sample", path.join(dir, "sample-gcc-orig.o")),
        patched: E.compileSample("sample", path.join(dir, "sample-gcc-patched.o"), { extra: ["-DSAMPLE_PATCHED"] }),
      },
      { name: "line-shift-warn/gcc", orig: fixture("line-shift-warn", "orig", "gcc"), patched: fixture("line-shift-warn", "patched", "gcc") },
      { name: "jump-label/clang", orig: fixture("jump-label", "orig", "clang"), patched: fixture("jump-label", "patched", "clang") },
    ];

    const failures: Failure[] = [];
    let last: { i: number; desc: string } | undefined;
    const stats = await new Promise<Stats>((resolve, reject) => {
      const input: WorkerInput = { dir, bases, seed: SEED, count: COUNT, only: ONLY };
      const worker = new Worker(new URL(import.meta.url), { workerData: input, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 2048 } });
      let watchdog: NodeJS.Timeout | undefined;
      const arm = (ms = PER_MUTANT_MS) => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          void worker.terminate();
          reject(new Error(`hang: no progress for ${ms} ms on mutant ${last ? last.desc : "(before the first mutant)"}; its bytes are ${path.join(dir, "mutant.o")}`));
        }, ms);
      };
      arm(Math.max(PER_MUTANT_MS, 60_000)); // worker start-up: loading src/ and parsing the bases
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          arm();
        } else if (m.type === "progress") {
          last = { i: m.i, desc: m.desc };
          arm();
        } else if (m.type === "failure") {
          failures.push(m.failure);
        } else {
          clearTimeout(watchdog);
          resolve(m.stats);
        }
      });
      worker.on("error", (e) => {
        clearTimeout(watchdog);
        reject(new Error(`the fuzz worker died (${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}) on mutant ${last ? last.desc : "(none yet)"}`));
      });
      worker.on("exit", (code) => {
        clearTimeout(watchdog);
        reject(new Error(`the fuzz worker exited (${code}) on mutant ${last ? last.desc : "(none yet)"}`));
      });
    });

    const exits = Object.entries(stats.byExit).sort().map(([k, v]) => `exit ${k}: ${v}`).join(", ");
    const summary = `mutants ${stats.mutants}: returned ${stats.returned} (${exits}), rejected with code 2: ${stats.rejected2}, refused with code 1: ${stats.refused1}, failures: ${stats.failed} — ${(stats.ms / 1000).toFixed(1)} s, seed 0x${SEED.toString(16)}`;
    t.diagnostic(summary);
    t.diagnostic(`mutation kinds: ${Object.entries(stats.byKind).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    console.log(`fuzz: ${summary}`);

    if (failures.length) {
      const groups = new Map<string, Failure[]>();
      for (const f of failures) {
        const k = `${f.kind}: ${shape(f.error)}`;
        groups.set(k, [...(groups.get(k) ?? []), f]);
      }
      const report = [...groups.entries()].sort((a, b) => b[1].length - a[1].length).map(([k, fs_]) => {
        const ex = fs_.slice(0, 3).map((f) => `    ${f.desc}\n      ${f.error}\n${f.stack ? f.stack.replace(/^/gm, "      ") + "\n" : ""}      repro: ${f.repro}`).join("\n");
        return `  ${fs_.length} × ${k}\n${ex}`;
      }).join("\n");
      assert.fail(`${failures.length} of ${stats.mutants} mutants broke the contract (kept in ${path.join(dir, "failures")}; replay one with KLP_FUZZ_ONLY=N):\n${report}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

if (isMainThread) await mainThread();
else await workerMain(workerData as WorkerInput);
