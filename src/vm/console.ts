// Reading the VM's serial console: clean the raw bytes into lines, find /init's step markers,
// and scan for signs of kernel trouble (Oops, BUG, WARNING, panic, GPF, call traces, stalls).
// A WARNING that matches an expected pattern is allowed, trace and all; every expected pattern
// must match at least one WARNING.
import { MARKER } from "./init-script.js";

/** Console text as lines: no escape sequences, carriage returns or other control bytes. */
export function consoleLines(raw: string): string[] {
  const text = raw
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/\x1b[@-Z\\-_c]/g, "")
    .replace(/\x1b/g, "")
    .replace(/\r/g, "")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
  // The kernel writes its console records straight to the UART, between the bytes /init's tty
  // output is sending: a record can land inside a line of /init's ("loaded and patched by the
  // livepatch[    1.823268] tsc: Refined TSC clocksource calibration …"). It starts a line of its own.
  const lines = text.replace(/(?<=\S)(\[ *\d+\.\d{6}\] )/g, "\n$1").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export interface MarkerEnd {
  readonly status: "pass" | "fail";
  /** Uptime (s) at the end of the step. */
  readonly t: number;
  readonly msg: string;
  /** Index of the marker line. */
  readonly line: number;
}

export interface StepMarkers {
  readonly id: string;
  /** Uptime (s) at the start of the step. */
  readonly t: number;
  /** Index of the begin marker line. */
  readonly line: number;
  readonly end?: MarkerEnd;
}

export interface Markers {
  /** Steps in the order /init began them. */
  readonly steps: readonly StepMarkers[];
  /** /init reached its end (`KLPVM: done`). */
  readonly done: boolean;
}

const BEGIN = new RegExp(`${MARKER} begin step=(\\S+) t=([\\d.]+)`);
const END = new RegExp(`${MARKER} end step=(\\S+) status=(pass|fail) t=([\\d.]+)(?: msg=(.*))?$`);
const DONE = new RegExp(`${MARKER} done\\b`);

export function parseMarkers(lines: readonly string[]): Markers {
  const steps: { id: string; t: number; line: number; end?: MarkerEnd }[] = [];
  let done = false;
  lines.forEach((l, i) => {
    if (!l.includes(MARKER)) return;
    let m = BEGIN.exec(l);
    if (m) {
      steps.push({ id: m[1]!, t: Number(m[2]), line: i });
      return;
    }
    m = END.exec(l);
    if (m) {
      const s = [...steps].reverse().find((x) => x.id === m![1] && !x.end);
      if (s) s.end = { status: m[2] as "pass" | "fail", t: Number(m[3]), msg: (m[4] ?? "").trim(), line: i };
      return;
    }
    if (DONE.test(l)) done = true;
  });
  return { steps, done };
}

export type ProblemKind = "oops" | "bug" | "warning" | "panic" | "general-protection-fault" | "call-trace" | "stall";

const PATTERNS: readonly { kind: ProblemKind; re: RegExp }[] = [
  { kind: "panic", re: /Kernel panic/i },
  { kind: "general-protection-fault", re: /general protection fault/ },
  { kind: "oops", re: /\bOops\b/ },
  { kind: "bug", re: /\bBUG:|kernel BUG at/ },
  { kind: "warning", re: /\bWARNING:/ },
  { kind: "stall", re: /rcu.*detected (expedited )?stalls|soft lockup|hard LOCKUP|INFO: task .* blocked for more than/i },
  { kind: "call-trace", re: /Call Trace:/ },
];

export interface Problem {
  /** Every kind of trouble seen in this block, first one first. */
  readonly kinds: readonly ProblemKind[];
  /** The first problem line. */
  readonly line: string;
  /** Its 1-based line number in the console. */
  readonly lineNo: number;
  /** Lines around it: a few before and the block up to its end-of-trace line. */
  readonly context: readonly string[];
}

export interface ExpectedWarning {
  readonly pattern: string;
  /** WARNING lines that matched. */
  readonly matched: readonly string[];
}

export interface ConsoleScan {
  readonly problems: readonly Problem[];
  readonly expected: readonly ExpectedWarning[];
}

const TIMESTAMP = /^\s*\[\s*\d+\.\d+\]\s?/;
const CUT_HERE = /\[ cut here \]/;
const END_TRACE = /---\[ end (trace|Kernel panic)/;
const BLOCK_MAX = 80;
const BEFORE = 3;

function bare(line: string): string {
  return line.replace(TIMESTAMP, "");
}

function kindsOf(line: string): ProblemKind[] {
  if (line.includes(MARKER)) return [];
  const b = bare(line);
  return PATTERNS.filter((p) => p.re.test(b)).map((p) => p.kind);
}

/** Index of the line ending the block that starts at `start` (its end-of-trace line, if any). */
function blockEnd(lines: readonly string[], start: number): number {
  for (let i = start; i < Math.min(lines.length, start + BLOCK_MAX); i++) {
    if (END_TRACE.test(lines[i]!)) return i;
    if (i > start && lines[i]!.includes(MARKER)) return i - 1;
  }
  return Math.min(lines.length - 1, start + 20);
}

/** Finds kernel trouble; WARNINGs whose message or headline match one of `expectWarn` are allowed. */
export function scanConsole(lines: readonly string[], expectWarn: readonly RegExp[] = []): ConsoleScan {
  const problems: Problem[] = [];
  const matched = expectWarn.map(() => [] as string[]);
  let i = 0;
  while (i < lines.length) {
    const kinds = kindsOf(lines[i]!);
    if (kinds.length === 0) {
      i++;
      continue;
    }
    const end = blockEnd(lines, i);
    if (kinds[0] === "warning") {
      // The headline of a WARN: the "cut here" line, the WARN's own message, the WARNING line.
      let head = i;
      while (head > 0 && i - head < 4 && !CUT_HERE.test(lines[head]!)) head--;
      if (!CUT_HERE.test(lines[head]!)) head = i;
      const headline = lines.slice(head, i + 1).map(bare);
      const hits = expectWarn.map((re, k) => (headline.some((l) => re.test(l)) || re.test(headline.join("\n")) ? k : -1)).filter((k) => k >= 0);
      if (hits.length) {
        for (const k of hits) matched[k]!.push(bare(lines[i]!));
        i = end + 1;
        continue;
      }
    }
    const all = new Set<ProblemKind>(kinds);
    for (let j = i + 1; j <= end; j++) for (const k of kindsOf(lines[j]!)) all.add(k);
    problems.push({
      kinds: [...all],
      line: bare(lines[i]!),
      lineNo: i + 1,
      context: lines.slice(Math.max(0, i - BEFORE), end + 1),
    });
    i = end + 1;
  }
  return { problems, expected: expectWarn.map((re, k) => ({ pattern: re.source, matched: matched[k]! })) };
}
