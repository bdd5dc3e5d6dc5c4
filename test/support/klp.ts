// Runs the built `klp` CLI as a user would: a separate process, real files.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const klpBin = path.join(repoRoot, "dist/klp.cjs");

export interface KlpRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runKlp(args: string[], timeoutMs = 60_000): KlpRun {
  const r = spawnSync(process.execPath, [klpBin, ...args], { encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The `--json` report of `klp diff`, as the contract in issue 2 describes it. */
export interface DiffJson {
  changed: string[];
  new: string[];
  refused: { symbol: string; reason: string }[];
  [more: string]: unknown;
}

export function diffJson(orig: string, patched: string, extra: string[] = []): { run: KlpRun; json: DiffJson | null } {
  const run = runKlp(["diff", orig, patched, "--json", ...extra]);
  let json: DiffJson | null = null;
  try { json = JSON.parse(run.stdout) as DiffJson; } catch { json = null; }
  return { run, json };
}
