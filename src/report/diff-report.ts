// Renders a DiffResult: the JSON contract other tools rely on, and the readable report.
import type { DiffResult } from "../diff.js";

export function diffJson(r: DiffResult): object {
  return {
    changed: r.changed.map((c) => c.name),
    new: r.new.map((c) => c.name),
    refused: r.refused.map(({ symbol, reason, hint }) => ({ symbol, reason, hint })),
    removed: r.removed,
    lineOnly: r.lineOnly,
    carried: r.carried,
    freshDataChanged: r.freshDataChanged,
    ignored: r.ignored,
    details: { changed: r.changed, new: r.new, ignored: Object.fromEntries(r.ignoredWhy) },
    object: r.sourceFile ?? null,
    arch: r.arch,
    output: r.output,
    exitCode: r.exitCode,
    ...(r.layoutsUnchecked ? { layoutsUnchecked: r.layoutsUnchecked } : {}),
  };
}

export function diffText(r: DiffResult): string {
  const lines: string[] = [];
  const origin = r.sourceFile ? ` (${r.sourceFile})` : "";
  lines.push(`klp diff ${r.orig} → ${r.patched}${origin}`);
  for (const c of r.changed) lines.push(`  changed  ${c.name}${c.origName ? ` (was ${c.origName})` : ""}: ${c.reason}`);
  for (const c of r.new) lines.push(`  new      ${c.name}`);
  for (const n of r.removed) lines.push(`  removed  ${n} (no longer in the patched build; the running copy stays)`);
  for (const n of r.lineOnly) lines.push(`  same     ${n} (only __LINE__ values moved)`);
  for (const n of r.ignored) lines.push(`  ignored  ${n} (${r.ignoredWhy.get(n) ?? "left out"})`);
  for (const x of r.refused) lines.push(`  REFUSED  ${x.symbol}: ${x.reason}\n           hint: ${x.hint}`);
  if (r.layoutsUnchecked) lines.push(`  note     struct layouts not compared (${r.layoutsUnchecked})`);
  if (r.refused.length) lines.push(`refused: ${r.refused.length} unsafe change(s); nothing written`);
  else if (r.exitCode === 3) lines.push("no functional change");
  else lines.push(`${r.changed.length} changed, ${r.new.length} new function(s)${r.output ? `; wrote ${r.output} (${r.carried.length} function(s))` : ""}`);
  return lines.join("\n");
}
