// Builds the livepatch module with kbuild as an external module of the prepared tree (the
// kernel's exact source, config and compiler), against the target's Module.symvers, so vermagic,
// modversions CRCs and the module layout are the running kernel's.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import type { BuildTree } from "./tree.js";

export interface ModuleBuild {
  readonly tree: BuildTree;
  /** The target kernel's Module.symvers (exports and their CRCs). */
  readonly symvers: string;
  readonly workDir: string;
  readonly name: string;
  readonly source: string;
  /** Prebuilt objects (the diff output), linked in as they are. */
  readonly objects: readonly { name: string; data: Buffer }[];
  /** Undefined symbols modpost may warn about: they become klp relocations after the link. */
  readonly klpNames: ReadonlySet<string>;
}

/**
 * modpost prints an undefined `op.0` as `op` (it cuts a numbered suffix), so a reported name
 * stands for a klp symbol when it is that name or its prefix before a `.`-suffix.
 */
function isKlpName(reported: string, klpNames: ReadonlySet<string>): boolean {
  if (klpNames.has(reported)) return true;
  for (const k of klpNames) if (k.startsWith(`${reported}.`)) return true;
  return false;
}

export function buildModule(b: ModuleBuild): string {
  fs.rmSync(b.workDir, { recursive: true, force: true });
  fs.mkdirSync(b.workDir, { recursive: true });
  fs.writeFileSync(path.join(b.workDir, "livepatch.c"), b.source);
  for (const o of b.objects) {
    fs.writeFileSync(path.join(b.workDir, `${o.name}_shipped`), o.data);
    // modpost reads every member's kbuild command record (for the module's srcversion).
    fs.writeFileSync(path.join(b.workDir, `.${o.name}.cmd`), `cmd_${o.name} := klp diff (object made by klpkit)\n`);
  }
  fs.writeFileSync(path.join(b.workDir, "Kbuild"), [
    `obj-m := ${b.name}.o`,
    `${b.name}-y := livepatch.o ${b.objects.map((o) => o.name).join(" ")}`,
    "",
  ].join("\n"));
  // modpost stops on undefined symbols that no export provides; those that are ours become
  // klp relocations after the link, so let it warn and check the warnings ourselves. It must not
  // see the exports that become klp relocations either: a patched module's own exports
  // (mwifiex_recycle_cmd_node for a fix in mwifiex's init.c) would give the livepatch
  // `depends=mwifiex`, and loading it would force the module in before it could be patched late.
  const symvers = path.join(b.workDir, "target.symvers");
  const kept = fs.readFileSync(b.symvers, "latin1").split("\n").filter((l) => !b.klpNames.has(l.split("\t")[1] ?? ""));
  fs.writeFileSync(symvers, kept.join("\n"), "latin1");
  const r = spawnSync("make", ["-C", b.tree.dir, `M=${b.workDir}`, ...b.tree.makeVars, `KBUILD_EXTRA_SYMBOLS=${symvers}`, "KBUILD_MODPOST_WARN=1", "modules"],
    { encoding: "utf8", maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const ko = path.join(b.workDir, `${b.name}.ko`);
  if (r.status !== 0 || !fs.existsSync(ko)) {
    throw new KlpError(ExitCode.badInput, "kbuild failed to build the livepatch module", b.workDir, out.trim().split("\n").slice(-25));
  }
  const unexpected = [...out.matchAll(/"([^"]+)" \[[^\]]+\] undefined!/g)].map((m) => m[1]!).filter((n) => !isKlpName(n, b.klpNames));
  if (unexpected.length) {
    throw new KlpError(ExitCode.badInput, `the livepatch module refers to symbols nothing provides: ${unexpected.join(", ")}`, ko);
  }
  return ko;
}
