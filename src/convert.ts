// `klp convert`: a hand-made livepatch module whose code calls or reads symbols the target does
// not export (kallsyms_lookup_name since 5.7, any static function) is turned into one the
// kernel loads: each such reference becomes a klp relocation resolved against the exact target
// (convert-plan.ts), written by the same post-link step `klp build` uses (klp/convert.ts).
// The module written is read back and must pass klp check's loading checks before it gets its
// name; otherwise nothing is written.
import fs from "node:fs";
import type { CheckContext } from "./check/check.js";
import { loadingFindings } from "./check/loading.js";
import { openModule, readLivepatchModule, type ModuleFile } from "./check/module.js";
import { writeAtomically } from "./diff.js";
import { refuse } from "./errors.js";
import { convertToLivepatch } from "./klp/convert.js";
import type { LeftOutEntry } from "./klp/late-entries.js";
import { planConversion, type ConvertedSymbol } from "./klp/convert-plan.js";
import { readSymposChoices, SYMPOS_SECTION } from "./klp/sympos-annotations.js";

export interface ConvertReport {
  readonly module: string;
  readonly output: string;
  readonly kernel: string;
  readonly converted: readonly ConvertedSymbol[];
  /** Undefined symbols the target exports, left to the module loader. */
  readonly exported: readonly string[];
  /** KLPKIT_SYMPOS records read and left out of the output. */
  readonly annotations: number;
  /** Table entries left out because they name a module's key (klp/late-entries.ts). */
  readonly leftOut: readonly LeftOutEntry[];
}

export type ConvertContext = Pick<CheckContext, "target" | "tree" | "kernel" | "modules">;

/** Converts the module `opened` (read from `input`) into `output`. */
export function convertModule(opened: ModuleFile, output: string, c: ConvertContext): ConvertReport {
  const input = opened.file;
  const module = readLivepatchModule(opened, c.tree.layouts);
  const choices = readSymposChoices(opened.elf, input);
  // A klp_object the target has no module for holds no symbols; the loading checks below
  // refuse it with their reason (livepatch-shadow-fix1.c's livepatch_shadow_mod).
  const objects = module.patches.flatMap((p) => p.objects.map((o) => o.name)).filter((o) => o === "vmlinux" || c.modules.modules.has(o));
  const { plan, converted, exported } = planConversion(input, module.undefinedSymbols, choices, objects, c.kernel);
  const bytes = fs.readFileSync(input);
  // Nothing to change (test_klp_livepatch.c uses exports only): the module as it was built.
  const conversion = plan.size || choices.size ? convertToLivepatch(input, bytes, plan, new Set([SYMPOS_SECTION]), c.tree.layouts) : undefined;
  const data = conversion?.data ?? bytes;
  writeAtomically(output, data, (written) => {
    const findings = loadingFindings(readLivepatchModule(openModule(written), c.tree.layouts), c);
    if (findings.length) {
      throw refuse(`the converted module would not load on ${c.target.release} (${findings.length} finding(s)); nothing written`,
        findings.map((f) => ({ symbol: f.symbol, object: f.object, reason: f.reason, hint: f.hint })), input);
    }
  });
  return { module: input, output, kernel: c.target.release, converted, exported, annotations: choices.size, leftOut: conversion?.leftOut ?? [] };
}

export function convertText(r: ConvertReport): string {
  const lines = [`${r.output}: ${r.converted.length} klp relocation symbol(s) for ${r.kernel}, ${r.exported.length} exported symbol(s) left to the loader`];
  for (const s of r.converted) {
    lines.push(`  .klp.sym.${s.object}.${s.name},${s.sympos}  ${s.address} ${s.where} (${s.chosenBy})`);
  }
  if (r.annotations) lines.push(`  ${r.annotations} annotation(s) read from ${SYMPOS_SECTION} and left out`);
  for (const e of r.leftOut) {
    lines.push(e.table === "__jump_table" ? `  ${e.key}: its __jump_table entries left out, the tracepoint off in this module's code (a module's key)`
      : `  ${e.key}: its ${e.table} entries left out, the calls go through the trampoline (a module's key)`);
  }
  return lines.join("\n");
}
