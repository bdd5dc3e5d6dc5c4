// `klp build`: source patch → objects before/after (kbuild) → diff → klp relocations against
// the target kernel → livepatch module (kbuild) → post-link conversion → DIR/<name>.ko.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { analyzeDiff, writeAtomically, type DiffAnalysis } from "./diff.js";
import { STB_GLOBAL, STT_FUNC } from "./elf/constants.js";
import { writeElf } from "./elf/writer.js";
import { ExitCode, KlpError, badInput } from "./errors.js";
import { buildModule } from "./kbuild/module.js";
import { klpObjectName } from "./kbuild/object-info.js";
import { affectedObjects, patchedFiles } from "./kbuild/patch-files.js";
import { buildObjectPair, installKlpkitHeader, prepareTree } from "./kbuild/tree.js";
import { convertToLivepatch, lateTableReferences, lateTableRefusal, type KlpSymbol } from "./klp/convert.js";
import { emitObject } from "./klp/emit.js";
import { foreignKeys, keysThroughTrampolines } from "./klp/static-calls.js";
import { moduleSymbols, parseKallsyms, parseModuleSymvers, type SymbolTable } from "./klp/kernel-symbols.js";
import { livepatchSource, type KlpFuncSpec, type KlpObjectSpec } from "./klp/livepatch-source.js";
import { functionSympos, resolveExtern, type KernelView, type TargetObject } from "./klp/resolve.js";
import { kallsymsText } from "./vm/kallsyms.js";
import { defaultCacheDir } from "./vm/kernel-image.js";
import { moduleBytes, readModuleIndex, type ModuleIndex } from "./vm/modules.js";

export interface BuildOptions {
  readonly patch: string;
  readonly kernel: string;
  readonly source?: string;
  readonly outDir: string;
  readonly name?: string;
  readonly replace?: boolean;
}

export interface BuildStep {
  readonly step: string;
  readonly detail: string;
  readonly seconds: number;
}

export interface ObjectSummary {
  readonly object: string;
  readonly target: string;
  readonly changed: readonly string[];
  readonly new: readonly string[];
  readonly klpRelocations: readonly string[];
}

export interface BuildResult {
  readonly module: string;
  readonly name: string;
  readonly objects: readonly ObjectSummary[];
  readonly unchangedObjects: readonly string[];
  readonly steps: readonly BuildStep[];
}

/** A module name from the patch file name: `fix-cmdline.patch` → `livepatch_fix_cmdline`. */
export function defaultName(patch: string): string {
  return `livepatch_${path.basename(patch).replace(/\.(patch|diff)$/, "").replace(/[^A-Za-z0-9_]/g, "_").toLowerCase()}`.slice(0, 55);
}

function kernelView(kernel: string, log: (s: string) => void): KernelView {
  const ks = kallsymsText(kernel, defaultCacheDir(), log);
  const symversPath = `/lib/modules/${kernel}/build/Module.symvers`;
  if (!fs.existsSync(symversPath)) throw badInput(symversPath, `missing (install linux-headers-${kernel})`);
  const tables = new Map<string, SymbolTable>();
  let index: ModuleIndex | undefined;
  return {
    vmlinux: parseKallsyms(ks.file, ks.text),
    exports: parseModuleSymvers(symversPath, fs.readFileSync(symversPath, "latin1")),
    moduleTable(name) {
      let t = tables.get(name);
      if (t) return t;
      index ??= readModuleIndex(kernel);
      const m = index.modules.get(name);
      if (!m) throw badInput(path.join(index.dir, "modules.dep"), `module ${name} is not installed for ${kernel}`);
      t = moduleSymbols(m.path, moduleBytes(m.path));
      tables.set(name, t);
      return t;
    },
  };
}

export function runBuild(opts: BuildOptions, log: (s: string) => void): BuildResult {
  const steps: BuildStep[] = [];
  const step = <T>(name: string, fn: () => T, detail: (t: T) => string): T => {
    const t0 = process.hrtime.bigint();
    log(`${name} …`);
    const v = fn();
    const s: BuildStep = { step: name, detail: detail(v), seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    steps.push(s);
    log(`${name}: ${s.detail} (${s.seconds.toFixed(1)} s)`);
    return v;
  };
  if (!fs.existsSync(opts.patch)) throw badInput(opts.patch, "no such patch file");
  const patchText = fs.readFileSync(opts.patch, "latin1");
  const files = patchedFiles(opts.patch, patchText);
  const name = opts.name ?? defaultName(opts.patch);
  if (!/^[a-z0-9_]+$/.test(name)) throw badInput(undefined, `livepatch name '${name}' must use only a-z, 0-9 and _`);
  const tree = { kernel: opts.kernel, ...(opts.source ? { source: opts.source } : {}) };

  const treeDir = step("prepare tree", () => {
    const dir = prepareTree(tree);
    installKlpkitHeader(dir);
    return dir;
  }, (d) => d);
  const objects = step("find objects", () => {
    const a = affectedObjects(treeDir, files);
    if (a.unsupported.length) {
      throw new KlpError(ExitCode.refused, `the patch changes ${a.unsupported.join(", ")}: only C sources and headers can be livepatched (assembly, build files and data files cannot)`, opts.patch);
    }
    if (a.notBuilt.length) log(`not built by this kernel's configuration (ignored): ${a.notBuilt.join(", ")}`);
    if (!a.objects.length) throw new KlpError(ExitCode.noChange, "the patch touches no file that this kernel's configuration builds", opts.patch);
    return a.objects;
  }, (o) => o.join(", "));

  const key = createHash("sha256").update(patchText).update(opts.kernel).update(opts.source ?? "").digest("hex").slice(0, 12);
  const work = path.join(defaultCacheDir(), "builds", `${name}-${key}`);
  step("build objects", () => buildObjectPair(tree, path.resolve(opts.patch), path.join(work, "pair"), objects), () => `${objects.length} object(s), original and patched`);

  const analyses = step("diff", () => objects.map((obj) => ({ obj, a: analyzeDiff(path.join(work, "pair/orig", obj), path.join(work, "pair/patched", obj)) })),
    (list) => list.map(({ obj, a }) => `${obj}: ${a.sel.changed.length} changed, ${a.sel.new.length} new`).join("; "));
  const refusals = analyses.flatMap(({ obj, a }) => a.sel.refused.map((r) => `${obj}: ${r.symbol}: ${r.reason} (hint: ${r.hint})`));
  if (refusals.length) throw new KlpError(ExitCode.refused, `the patch cannot be livepatched safely (${refusals.length} refusal(s)); nothing written`, opts.patch, refusals);
  const changedPairs = analyses.filter(({ a }) => a.exitCode === ExitCode.patch);
  if (!changedPairs.length) throw new KlpError(ExitCode.noChange, "the patch changes no function of the kernel (no functional change)", opts.patch);

  const k = step("resolve symbols", () => kernelView(opts.kernel, log), (v) => `${v.vmlinux.symbols.length} vmlinux symbols, ${v.exports.size} exports`);
  const plan = new Map<string, KlpSymbol>();
  const specs = new Map<string, KlpFuncSpec[]>();
  const callbacks = new Map<string, Map<string, string>>();
  const summaries: ObjectSummary[] = [];
  const shipped: { name: string; data: Buffer }[] = [];
  step("klp relocations", () => {
    let n = 0;
    changedPairs.forEach(({ obj, a }, i) => {
      const target: TargetObject = { name: klpObjectName(treeDir, obj), sourceFile: a.o.sourceFile, definedNames: definedNames(a) };
      const em = emitObject(a.o, a.p, a.corr, a.sel);
      for (const key of keysThroughTrampolines(em.object, k.exports)) em.externs.delete(key);
      const foreign = foreignKeys(em.object, k.exports, target.name);
      if (foreign.length) {
        throw new KlpError(ExitCode.refused, `${obj}: the patched code uses static keys or static calls of other modules`, opts.patch,
          foreign.map((f) => `${f.key} (${f.table}) is defined in module ${f.module}: hint: test it through a function of ${f.module} instead of the key, or patch ${f.module}'s own code`));
      }
      const klpRefs: string[] = [];
      for (const ext of em.externs.values()) {
        const r = resolveExtern(ext, target, k);
        if (r.kind !== "klp") continue;
        const known = plan.get(ext.name);
        if (known && (known.object !== r.object || known.sympos !== r.sympos)) {
          throw new KlpError(ExitCode.refused, `symbol ${ext.name} means ${known.object}:${known.sympos} for one object and ${r.object}:${r.sympos} for another`);
        }
        plan.set(ext.name, { object: r.object, name: r.name, sympos: r.sympos });
        klpRefs.push(`${r.object}:${r.name},${r.sympos}`);
      }
      const late = lateTableReferences(em.object, plan);
      if (late.length) throw lateTableRefusal(late, opts.patch, `${obj}: `);
      const funcs = specs.get(target.name) ?? [];
      for (const c of a.sel.changed) {
        const sym = em.functions.get(c.name)!;
        const newSymbol = `__klp_new_${n++}`;
        em.object.symbols.push({ name: newSymbol, value: sym.value, size: sym.size, bind: STB_GLOBAL, type: STT_FUNC, other: 0, section: sym.section! });
        const oldName = c.origName ?? c.name;
        funcs.push({ oldName, sympos: functionSympos(oldName, target, k), newSymbol });
      }
      specs.set(target.name, funcs);
      const cbs = callbacks.get(target.name) ?? new Map<string, string>();
      for (const cb of a.sel.callbacks) {
        if (cbs.has(cb.kind)) throw new KlpError(ExitCode.badInput, `two ${cb.kind} callbacks for ${target.name}`, opts.patch);
        const sym = em.functions.get(cb.function.name)!;
        const cbSymbol = `__klp_cb_${n++}`;
        em.object.symbols.push({ name: cbSymbol, value: sym.value, size: sym.size, bind: STB_GLOBAL, type: STT_FUNC, other: 0, section: sym.section! });
        cbs.set(cb.kind, cbSymbol);
      }
      callbacks.set(target.name, cbs);
      shipped.push({ name: `klp-${i}.o`, data: writeElf(em.object) });
      summaries.push({ object: obj, target: target.name, changed: a.sel.changed.map((c) => c.name), new: a.sel.new.map((c) => c.name), klpRelocations: klpRefs });
    });
  }, () => `${plan.size} symbol(s) need klp relocations`);

  const objs: KlpObjectSpec[] = [...specs].map(([name, funcs]) => ({ name, funcs, callbacks: callbacks.get(name) ?? new Map<string, string>() })).sort((x, y) => (x.name === "vmlinux" ? -1 : y.name === "vmlinux" ? 1 : x.name.localeCompare(y.name)));
  const ko = step("link module", () => buildModule({
    kbuildDir: `/lib/modules/${opts.kernel}/build`, workDir: path.join(work, "module"), name,
    source: livepatchSource(name, objs, { replace: opts.replace ?? false, description: path.basename(opts.patch) }),
    objects: shipped, klpNames: new Set(plan.keys()),
  }), (p) => p);
  const out = path.join(opts.outDir, `${name}.ko`);
  step("write klp relocations", () => {
    fs.mkdirSync(opts.outDir, { recursive: true });
    writeAtomically(out, convertToLivepatch(ko, fs.readFileSync(ko), plan));
  }, () => out);
  return { module: out, name, objects: summaries, unchangedObjects: analyses.filter(({ a }) => a.exitCode !== ExitCode.patch).map(({ obj }) => obj), steps };
}

function definedNames(a: DiffAnalysis): { name: string; isFunction: boolean }[] {
  return [...a.o.functions.map((f) => ({ name: f.name, isFunction: true })), ...a.o.data.map((d) => ({ name: d.name, isFunction: false }))];
}
