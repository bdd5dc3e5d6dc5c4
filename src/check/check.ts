// `klp check`: a livepatch module read back (module.ts) and judged against the target, one
// stage after another over plain data: whether it loads (modinfo, exports, klp relocations,
// object names), then per replaced function whether old_name/old_sympos pick one function and
// whether the livepatch really takes over every path into it (clones, ftrace, inlining).
import path from "node:path";
import { cacheDir } from "../target/cache.js";
import type { KernelView } from "../target/symbols.js";
import { sourceArch, type Target } from "../target/target.js";
import type { PreparedTree } from "../target/tree.js";
import type { ModuleIndex } from "../vm/modules.js";
import { definingObject, type DefiningObject } from "./defining-object.js";
import type { Finding } from "./findings.js";
import { cloneFindings, symbolsNamed, objectFindings, pickSymbol, type FunctionReport } from "./functions.js";
import { loadingFindings } from "./loading.js";
import type { LivepatchModule } from "./module.js";
import { replacementDwarf, signatureFindings, signatureNotCompared, type ReplacementDwarf } from "./signature.js";
import type { KlpFuncRead } from "./structs.js";

export interface CheckReport {
  readonly module: string;
  /** The livepatch's name (its sysfs directory). */
  readonly name: string;
  readonly kernel: string;
  readonly verdict: "safe" | "unsafe";
  readonly functions: readonly FunctionReport[];
  readonly klpSymbols: readonly string[];
  readonly findings: readonly Finding[];
}

export interface CheckContext {
  readonly target: Target;
  readonly tree: PreparedTree;
  readonly kernel: KernelView;
  readonly modules: ModuleIndex;
  /** What the module's builder proved, when klp build checks its own output. */
  readonly proven?: BuildProof;
}

/**
 * klp build's knowledge of its own module: the original objects it compiled (where the
 * replaced functions are defined), and per klp object the functions its binary diff found
 * unchanged by the fix. An unchanged caller's inlined copy, or an unchanged clone, already is
 * the fixed code, so it is no stale path.
 */
export interface BuildProof {
  readonly objects: readonly DefiningObject[];
  readonly unchanged: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The module's directory under the kernel's modules dir (kernel/fs for binfmt_misc). */
function moduleDir(c: CheckContext, object: string): string | undefined {
  const m = c.modules.modules.get(object);
  if (!m) return undefined;
  const rel = path.relative(c.modules.dir, path.dirname(m.path));
  return rel.startsWith("..") ? undefined : rel;
}

interface FunctionCheck {
  readonly report: FunctionReport;
  readonly findings: readonly Finding[];
  readonly def?: DefiningObject;
}

function checkFunction(c: CheckContext, object: string, f: KlpFuncRead, covered: ReadonlySet<string>,
  known: readonly DefiningObject[], replacements: () => ReplacementDwarf, log: (s: string) => void): FunctionCheck {
  const table = object === "vmlinux" ? c.kernel.vmlinux : c.kernel.moduleTable(object);
  const base: FunctionReport = { object, oldName: f.oldName, oldSympos: f.oldSympos, newFunc: f.newFunc, inlinedInto: [], clones: [], coldParts: [] };
  const picked = pickSymbol(f, object, symbolsNamed(table, f.oldName));
  if ("kind" in picked) {
    // A name kallsyms lacks may live on only as clones: 6.1's proc_get_long is called by every
    // caller as proc_get_long.constprop.0, so the clones say where the calls really go.
    const c = cloneFindings(f, object, table.byName.keys(), covered, false);
    return { report: { ...base, clones: c.clones, coldParts: c.cold }, findings: [picked, ...(picked.kind === "missing" ? c.findings : [])] };
  }
  log(`${object}: ${f.oldName}: locating and compiling its object`);
  const dir = object === "vmlinux" ? undefined : moduleDir(c, object);
  const at = definingObject(f.oldName, object, picked, {
    tree: c.tree, srcArch: sourceArch(c.target.arch), workDir: path.join(cacheDir(c.target.cacheRoot, "check"), c.target.id),
    ...(dir !== undefined ? { moduleDir: dir } : {}),
  }, c.kernel, known);
  // The defining object's own names are exact; the whole table's may hold another file's clone.
  const names = "found" in at ? at.found.compiled.functions.map((x) => x.name) : table.byName.keys();
  const clones = cloneFindings(f, object, names, covered, c.proven?.unchanged.has(object) ?? false);
  const o = objectFindings(f, object, at, covered);
  // klp build's replacement is the same function compiled from the patched tree: its prototype
  // is the original's unless the fix changed it, and then its diff carries every caller too.
  const signature = o.def && !c.proven ? signatureFindings(object, f.oldName, f.newFunc, o.def, replacements()) : [];
  const notCompared = o.def && !c.proven ? signatureNotCompared(f.newFunc, replacements()) : undefined;
  return {
    report: {
      ...base, address: `0x${picked.address.toString(16)}`, inlinedInto: o.inlined, clones: clones.clones, coldParts: clones.cold,
      ...(notCompared ? { signatureNotCompared: notCompared } : {}),
      ...(o.def ? { definedIn: o.def.object } : {}), ...(o.traceable !== undefined ? { traceable: o.traceable } : {}),
    },
    findings: [...clones.findings, ...o.findings, ...signature],
    ...(o.def ? { def: o.def } : {}),
  };
}

export function checkModule(m: LivepatchModule, c: CheckContext, log: (s: string) => void): CheckReport {
  const findings: Finding[] = loadingFindings(m, c);
  const functions: FunctionReport[] = [];
  let dwarf: ReplacementDwarf | undefined;
  const replacements = () => (dwarf ??= replacementDwarf(m.elf));
  for (const p of m.patches) {
    for (const o of p.objects) {
      // A module the target lacks was reported above; its functions have nothing to be checked against.
      if (o.name !== "vmlinux" && !c.modules.modules.has(o.name)) continue;
      // Callers and clones the same klp_object replaces as well are covered by this livepatch.
      const covered = new Set([...o.funcs.map((f) => f.oldName), ...(c.proven?.unchanged.get(o.name) ?? [])]);
      const known: DefiningObject[] = [...(c.proven?.objects ?? [])];
      const run = (f: KlpFuncRead) => {
        const r = checkFunction(c, o.name, f, covered, known, replacements, log);
        if (r.def && !known.includes(r.def)) known.push(r.def);
        return r;
      };
      const results = o.funcs.map(run);
      // A function whose source the search cannot see (SYSCALL_DEFINE2(getrlimit, …) defines
      // __x64_sys_getrlimit) may be in an object compiled for a later function: look again.
      const again = results.map((r, i) => (!r.def && r.findings.some((x) => x.kind === "unverified") ? run(o.funcs[i]!) : r));
      for (const r of again) {
        functions.push(r.report);
        findings.push(...r.findings);
      }
    }
  }
  return {
    module: m.file, name: m.name, kernel: c.target.release, verdict: findings.length ? "unsafe" : "safe", functions,
    klpSymbols: m.klpSymbols.map((s) => `.klp.sym.${s.object}.${s.name},${s.sympos}`), findings,
  };
}

/** The report as text: one line per function, then each finding with what to do. */
export function checkText(r: CheckReport): string {
  const lines = [`${r.module}: ${r.verdict.toUpperCase()} for ${r.kernel} (livepatch ${r.name})`];
  for (const f of r.functions) {
    const where = f.definedIn ? ` in ${f.definedIn}` : "";
    const extra = [f.traceable === false ? "not traceable" : "", f.inlinedInto.length ? `inlined into ${f.inlinedInto.map((i) => `${i.caller}${i.covered ? " (covered)" : ""}`).join(", ")}` : "",
      f.clones.length ? `clones ${f.clones.join(", ")}` : "", f.signatureNotCompared ? `signature not compared: ${f.signatureNotCompared}` : ""].filter((s) => s !== "");
    lines.push(`  ${f.object}: ${f.oldName}${f.oldSympos ? `,${f.oldSympos}` : ""} → ${f.newFunc}${f.address ? ` (${f.address}${where})` : ""}${extra.length ? `: ${extra.join("; ")}` : ""}`);
  }
  for (const s of r.klpSymbols) lines.push(`  klp symbol ${s}`);
  for (const f of r.findings) lines.push(`  unsafe: ${f.object}: ${f.symbol}: ${f.reason}`, `    what to do: ${f.hint}`);
  return lines.join("\n");
}
