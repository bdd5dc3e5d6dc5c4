// The text form of a `klp vm-test` report (the JSON form is the report value itself).
import type { VmTestReport } from "./run.js";

function secs(x: number | null): string {
  return x === null ? "" : `${x.toFixed(2)} s`;
}

export function vmTestText(r: VmTestReport): string {
  const out: string[] = [];
  out.push(`${r.passed ? "PASS" : "FAIL"} ${r.livepatch} on ${r.kernel} (${r.accel}): vm ${r.timing.vmSeconds.toFixed(1)} s` +
    `${r.timing.bootSeconds === null ? "" : `, booted in ${r.timing.bootSeconds.toFixed(1)} s`}, total ${r.timing.totalSeconds.toFixed(1)} s`);
  const width = Math.min(60, Math.max(...r.steps.map((s) => s.label.length)));
  for (const s of r.steps) {
    out.push(`  ${s.status.padEnd(7)} ${s.label.padEnd(width)}  ${secs(s.seconds).padStart(7)}  ${s.detail}`);
  }
  // What the kernel asked modprobe for matters when the VM loaded it, or when a step failed.
  // A passing run names what answered; a failing one also what nothing answered.
  if (r.requests.length && (r.boots > 1 || !r.passed)) {
    const answered = r.requests.filter((q) => q.modules.length).map((q) => `${q.name} → ${q.modules.map((m) => m.name).join(", ")}`);
    const not = r.requests.filter((q) => !q.modules.length).map((q) => q.name);
    const unanswered = !not.length ? [] : r.passed ? [`${not.length} more no module of the target provides`]
      : [`no module of the target for ${not.join(", ")}`];
    out.push(`  request_module: ${[...answered, ...unanswered].join("; ")}${r.boots > 1 ? ` (loaded in the VM on demand; ${r.boots} boots)` : ""}`);
  }
  if (r.passed) return out.join("\n");

  let shown = r.problems.length > 0;
  const printed = new Set<string>();
  for (const s of r.steps) {
    if (s.status !== "fail" || s.output.length === 0) continue;
    shown = true;
    out.push("", `output of '${s.label}':`, ...s.output.map((l) => `  | ${l}`));
    for (const l of s.output) printed.add(l);
  }
  for (const p of r.problems) {
    out.push("", `${p.kinds.join(" + ")} at console line ${p.lineNo}: ${p.line}`);
    // Its lines were printed just above as the failed step's output: no need to repeat them.
    if (!p.context.filter((l) => l.trim() !== "").every((l) => printed.has(l) || l.includes("KLPVM:"))) out.push(...p.context.map((l) => `  | ${l}`));
  }
  // The lines above already show where it went wrong: then a short tail is enough.
  const tail = shown ? r.consoleTail.slice(-10) : r.consoleTail;
  out.push("", `console tail (last ${tail.length} of ${r.consoleLines} lines${r.consoleFile ? `; all in ${r.consoleFile}` : ""}):`,
    ...tail.map((l) => `  | ${l}`));
  return out.join("\n");
}
