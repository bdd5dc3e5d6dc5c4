// `klp build`: source patch → objects before/after (kbuild, in the target's exact tree) → diff →
// klp relocations against the target kernel → the byte proof that the original build is the
// running kernel → livepatch module (kbuild) → post-link conversion → DIR/<name>.ko.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { checkModule, type BuildProof } from "./check/check.js";
import { openModule, readLivepatchModule } from "./check/module.js";
import { analyzeDiff, writeAtomically, type DiffAnalysis } from "./diff.js";
import { SHN_UNDEF, STB_GLOBAL, STB_LOCAL, STT_FUNC } from "./elf/constants.js";
import { writeElf } from "./elf/writer.js";
import type { OutSymbol } from "./elf/model.js";
import { ExitCode, KlpError, badInput, refuse, type Refusal } from "./errors.js";
import { buildModule } from "./kbuild/module.js";
import { screenHeaderReaders } from "./kbuild/header-readers.js";
import { klpObjectName } from "./kbuild/object-info.js";
import { affectedObjects, patchedFiles } from "./kbuild/patch-files.js";
import { buildObjectPair, installKlpkitHeader } from "./kbuild/tree.js";
import { convertToLivepatch, isModuleSymbol, lateTableReferences, lateTableRefusal, type KlpSymbol } from "./klp/convert.js";
import { leaveOutLateEntries, type LeftOutEntry } from "./klp/late-entries.js";
import { emitObject } from "./klp/emit.js";
import { livepatchSource, type KlpFuncSpec, type KlpObjectSpec } from "./klp/livepatch-source.js";
import { locateFunction, resolveExtern, type TargetObject } from "./klp/resolve.js";
import { exposeStaticCallKeys } from "./klp/static-call-keys.js";
import { foreignKeys, keysThroughTrampolines } from "./klp/static-calls.js";
import { prove, type ProofCounts, type ProofItem, type ProofRequest } from "./proof/proof.js";
import { runningKernel } from "./proof/running-kernel.js";
import { cacheDir } from "./target/cache.js";
import { kernelSymbols, targetModules } from "./target/modules.js";
import { describeTarget, sourceArch, type Target } from "./target/target.js";
import { prepareTree } from "./target/tree.js";

export interface BuildOptions {
  readonly patch: string;
  readonly outDir: string;
  readonly name?: string;
  readonly replace?: boolean;
  /**
   * Leave changed `__init`/`__exit` code and data out instead of refusing them: the user accepts
   * that they take effect at the next boot (a stable fix often touches an init function beside
   * the runtime one: arch/x86/kvm/svm's sev_hardware_setup with nested.c's runtime fix).
   */
  readonly ignoreInitChanges?: boolean;
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
  /** Changed parts left out on purpose, each with why (built-in `__exit`, accepted `__init` …). */
  readonly ignored: readonly string[];
}

export interface ScreenedReaders {
  readonly readers: number;
  readonly compiled: number;
}

export interface BuildResult {
  readonly module: string;
  readonly name: string;
  /** The kernel the module is for, and the exact source it was built from. */
  readonly kernel: { readonly release: string; readonly package: string; readonly packageVersion: string; readonly source: string; readonly tree: string };
  readonly objects: readonly ObjectSummary[];
  readonly unchangedObjects: readonly string[];
  /** Objects only a patched header brought in: how many were preprocessed, and how many compiled. */
  readonly headerReaders?: ScreenedReaders;
  /** Hunks of the patch that applied at an offset (patch's own words). */
  readonly patchOffsets: readonly string[];
  /** What the byte proof compared against the running kernel's own bytes. */
  readonly proof: ProofCounts;
  /** klp check's verdict on the written module (a build whose module is unsafe writes nothing). */
  readonly check: { readonly verdict: "safe" | "unsafe"; readonly functions: number };
  readonly steps: readonly BuildStep[];
  /**
   * Load-time table entries of the carried code left out because they name a module's symbol
   * (klp/late-entries.ts): a tracepoint of that module is off in the patched code; a static call
   * goes through its trampoline.
   */
  readonly leftOut: readonly LeftOutEntry[];
}

/** A module name from the patch file name: `fix-cmdline.patch` → `livepatch_fix_cmdline`. */
export function defaultName(patch: string): string {
  return `livepatch_${path.basename(patch).replace(/\.(patch|diff)$/, "").replace(/[^A-Za-z0-9_]/g, "_").toLowerCase()}`.slice(0, 55);
}

export function runBuild(t: Target, opts: BuildOptions, log: (s: string) => void): BuildResult {
  const steps: BuildStep[] = [];
  const step = <T>(name: string, fn: () => T, detail: (v: T) => string): T => {
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

  log(`target ${describeTarget(t)}`);
  const tree = step("prepare tree", () => {
    const prepared = prepareTree(t, log);
    installKlpkitHeader(prepared.dir);
    return prepared;
  }, (d) => d.dir);
  const found = step("find objects", () => {
    const a = affectedObjects(tree.dir, files, sourceArch(t.arch));
    if (a.unsupported.length) {
      throw refuse("the patch changes files that cannot be livepatched", a.unsupported.map((f) => ({
        symbol: f, reason: "only C sources and headers can be livepatched (assembly, build files and data files cannot)",
        hint: "change the C code that uses it instead",
      })), opts.patch);
    }
    if (a.notBuilt.length) log(`not built by this kernel's configuration (ignored): ${a.notBuilt.join(", ")}`);
    if (!a.objects.length) throw new KlpError(ExitCode.noChange, "the patch touches no file that this kernel's configuration builds", opts.patch);
    return a;
  }, (a) => (a.objects.length > 12 ? `${a.objects.length} objects read the patched files: ${a.objects.slice(0, 6).join(", ")} …` : a.objects.join(", ")));

  const key = createHash("sha256").update(patchText).update(t.id).update(tree.dir).digest("hex").slice(0, 12);
  const work = path.join(cacheDir(t.cacheRoot, "builds"), `${name}-${key}`);
  // vmlinux or the module each object is linked into: the diff, the resolution and the klp
  // objects all need it (read from kbuild's record of the object's compile).
  const objectNames = new Map<string, string>();
  const offsets = new Set<string>();
  const analyses: { obj: string; a: DiffAnalysis }[] = [];
  /** Builds `objs` before and after the patch into work/`dir`, and diffs each; refusals stop the build. */
  const buildAndDiff = (objs: readonly string[], dir: string, what: string) => {
    const into = path.join(work, dir);
    for (const n of step(`build ${what}`, () => buildObjectPair(tree, path.resolve(opts.patch), into, objs), () => `${objs.length} object(s), original and patched`)) offsets.add(n);
    for (const obj of objs) objectNames.set(obj, klpObjectName(tree.dir, obj));
    const list = step(`diff ${what}`, () => objs.map((obj) => ({ obj, a: analyzeDiff(path.join(into, "orig", obj), path.join(into, "patched", obj), {
      layouts: tree.layouts, builtIn: objectNames.get(obj) === "vmlinux", ignoreInitChanges: opts.ignoreInitChanges === true,
      structLayouts: true,
    }) })),
    (l) => l.map(({ obj, a }) => `${obj}: ${a.sel.changed.length} changed, ${a.sel.new.length} new`).join("; "));
    const refusals: Refusal[] = list.flatMap(({ obj, a }) => a.sel.refused.map((r) => ({ ...r, object: obj })));
    if (refusals.length) throw refuse(`the patch cannot be livepatched safely (${refusals.length} refusal(s)); nothing written`, refusals, opts.patch);
    analyses.push(...list);
  };
  // The patch's own .c files first: a struct layout its header changes is refused from them
  // (6.1.176's fwnode.h widens fwnode_handle's flags, and 20,602 files read it), before any of
  // the header's readers is even preprocessed.
  if (found.direct.length) buildAndDiff(found.direct, "pair", "objects");
  let screened: ScreenedReaders | undefined;
  const readers = found.throughHeaders.length;
  if (readers) {
    const screen = step("screen header readers", () => screenHeaderReaders(tree, path.resolve(opts.patch), path.join(work, "screen"), found.throughHeaders, log),
      (r) => `${r.reached.length} of ${readers} may compile to other code${r.reached.length ? ` (${r.reached.slice(0, 3).map((x) => `${x.object}: ${x.why}`).join("; ")}${r.reached.length > 3 ? " …" : ""})` : ""}`);
    screened = { readers, compiled: screen.reached.length };
    if (screen.reached.length) buildAndDiff(screen.reached.map((r) => r.object), "pair-readers", "header readers");
  }
  // The same context may stand in two places: a hunk that moved may have changed another
  // function than the author meant, so the summary says which hunks moved beside what changed.
  for (const n of offsets) log(`note: ${n.replace(/\.$/, "")} of ${t.source.package} ${t.source.version}: check that the functions it changed are the ones meant`);
  for (const { obj, a } of analyses) {
    if (a.layoutsUnchecked) log(`note: struct layouts not compared for ${obj} (${a.layoutsUnchecked}), so a changed struct goes unnoticed`);
  }
  const changedPairs = analyses.filter(({ a }) => a.exitCode === ExitCode.patch);
  if (!changedPairs.length) {
    // Say what was left out, or a fix to built-in __exit code reads as if it changed nothing.
    const left = analyses.flatMap(({ a }) => [...a.sel.ignoredWhy].map(([name, why]) => `${name}: ${why}`));
    throw new KlpError(ExitCode.noChange, left.length
      ? `the patch changes nothing the running kernel runs (${left.join("; ")})`
      : "the patch changes no function of the kernel (no functional change)", opts.patch);
  }

  const k = step("resolve symbols", () => kernelSymbols(t, log), (v) => `${v.vmlinux.symbols.length} vmlinux symbols, ${v.exports.size} exports`);
  const plan = new Map<string, KlpSymbol>();
  const leftOut: LeftOutEntry[] = [];
  const specs = new Map<string, KlpFuncSpec[]>();
  const callbacks = new Map<string, Map<string, string>>();
  const summaries: ObjectSummary[] = [];
  const shipped: { name: string; data: Buffer }[] = [];
  const proofRequests: ProofRequest[] = [];
  const newGlobals = new Set(changedPairs.flatMap(({ a }) => a.sel.new.map((c) => c.name)
    .filter((n) => a.p.functions.some((f) => f.name === n && f.sym.bind !== STB_LOCAL))));
  const patchedObjects = new Set(changedPairs.map(({ obj }) => objectNames.get(obj)!));
  /** Namespaces of the exports the carried code links to (ms_sensors_reset: IIO_MEAS_SPEC_SENSORS). */
  const namespaces = new Set<string>();
  step("klp relocations", () => {
    let n = 0;
    changedPairs.forEach(({ obj, a }, i) => {
      const target: TargetObject = { name: objectNames.get(obj)!, sourceFile: a.o.sourceFile, definedNames: definedNames(a) };
      const em = emitObject(a.o, a.p, a.corr, a.sel);
      for (const key of keysThroughTrampolines(em.object, k.exports)) em.externs.delete(key);
      const exposed = exposeStaticCallKeys(em.object, a.p.arch.relocAbs64);
      for (const key of exposed) em.externs.set(key, { name: key, definedInObject: false, local: false, isFunction: false });
      const foreign = [...foreignKeys(em.object, k.exports, target.name), ...exposed.flatMap((key) => {
        const exp = k.exports.get(key);
        return exp && exp.module !== "vmlinux" && exp.module !== target.name ? [{ key, module: exp.module, table: ".static_call_sites" }] : [];
      })];
      if (foreign.length) {
        throw refuse(`${obj}: the patched code uses static keys or static calls of other modules`, foreign.map((f) => ({
          symbol: f.key, object: obj, reason: `${f.table} entry names ${f.key}, defined in module ${f.module}: linking to it would load and pin ${f.module}`,
          hint: f.key.startsWith("__tracepoint_")
            ? `a tracepoint of ${f.module}: leave its trace_${f.key.slice("__tracepoint_".length)}() call out of the patched function, or patch ${f.module}'s own code`
            : `test it through a function of ${f.module} instead of the key, or patch ${f.module}'s own code`,
        })), opts.patch);
      }
      const items: ProofItem[] = [];
      const klpRefs: string[] = [];
      for (const ext of em.externs.values()) {
        // A new global function another object of the same patch defines (fs/hfsplus: super.c
        // calls hfsplus_brec_read_cat, which the fix adds to bfind.c) is linked to that copy.
        if (!ext.local && newGlobals.has(ext.name)) continue;
        const r = resolveExtern(ext, target, k, patchedObjects);
        if (r.kind !== "klp") {
          const ns = k.exports.get(ext.name)?.namespace;
          if (r.kind === "export" && ns) namespaces.add(ns);
          continue;
        }
        let key = ext.name;
        const known = plan.get(key);
        if (known && (known.object !== r.object || known.sympos !== r.sympos)) {
          if (!ext.local) {
            throw refuse(`symbol ${ext.name} resolves differently for two objects`, [{
              symbol: ext.name, object: obj, reason: `means ${known.object}:${known.sympos} for one object and ${r.object}:${r.sympos} for another`,
              hint: "build the two files' fixes as separate livepatches",
            }], opts.patch);
          }
          // Each object's own copy of one static: overlayfs.h's ovl_do_rename, out of line as
          // ovl_do_rename.constprop.0 in both namei.o and dir.o of overlay.ko. The linked module
          // must keep the two references apart, so this object's gets a name of its own.
          key = `${ext.name}.klp${i}`;
          renameUndefined(em.object.symbols, ext.name, key);
        }
        plan.set(key, { object: r.object, name: r.name, sympos: r.sympos });
        klpRefs.push(`${r.object}:${r.name},${r.sympos}`);
        // A symbol of this very object chosen among same-named ones by where it lies: prove it.
        const own = r.positional && r.object === target.name ? a.o.functions.find((f) => f.name === ext.name) ?? a.o.data.find((d) => d.name === ext.name) : undefined;
        if (own) items.push({ entity: own, at: r.symbol, why: "sympos" });
      }
      leftOut.push(...leaveOutLateEntries(em.object, (name) => isModuleSymbol(plan, name)));
      const late = lateTableReferences(em.object, plan);
      if (late.length) throw lateTableRefusal(late, opts.patch, `${obj}: `);
      const funcs = specs.get(target.name) ?? [];
      for (const c of a.sel.changed) {
        const sym = em.functions.get(c.name)!;
        const newSymbol = `__klp_new_${n++}`;
        em.object.symbols.push({ name: newSymbol, value: sym.value, size: sym.size, bind: STB_GLOBAL, type: STT_FUNC, other: 0, section: sym.section! });
        const oldName = c.origName ?? c.name;
        const at = locateFunction(oldName, target, k);
        funcs.push({ oldName, sympos: at.sympos, newSymbol });
        const orig = a.o.functions.find((f) => f.name === oldName);
        if (orig) items.push({ entity: orig, at: at.symbol, why: "replaced" });
      }
      specs.set(target.name, funcs);
      proofRequests.push({ object: obj, target: target.name, orig: a.o, items });
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
      summaries.push({ object: obj, target: target.name, changed: a.sel.changed.map((c) => c.name), new: a.sel.new.map((c) => c.name), klpRelocations: klpRefs,
        ignored: [...a.sel.ignoredWhy].map(([n, why]) => `${n}: ${why}`) });
    });
  }, () => `${plan.size} symbol(s) need klp relocations`);

  const proof = step("prove", () => {
    const result = prove(proofRequests, runningKernel(t, k, log));
    if (result.mismatches.length) {
      throw refuse(`the original build is not ${t.release}: ${result.mismatches.length} symbol(s) differ from the running kernel's bytes; nothing written`,
        result.mismatches, opts.patch, t.userTree ? `${t.userTree} is not the exact source and config of ${t.release}; leave out --source to build from ${t.source.package} ${t.source.version}` : undefined);
    }
    const { functions, data, references, masked } = result;
    return { functions, data, references, masked };
  }, (p) => `${p.functions} function(s) and ${p.data} data object(s) equal ${t.release}'s own bytes (${p.references} references resolved alike, ${p.masked} fields masked)`);

  const objs: KlpObjectSpec[] = [...specs].map(([name, funcs]) => ({ name, funcs, callbacks: callbacks.get(name) ?? new Map<string, string>() })).sort((x, y) => (x.name === "vmlinux" ? -1 : y.name === "vmlinux" ? 1 : x.name.localeCompare(y.name)));
  const ko = step("link module", () => buildModule({
    tree, symvers: t.files.symvers, workDir: path.join(work, "module"), name,
    source: livepatchSource(name, objs, { replace: opts.replace ?? false, description: path.basename(opts.patch), importNamespaces: [...namespaces].sort() }),
    objects: shipped, klpNames: new Set(plan.keys()),
  }), (p) => p);
  const out = path.join(opts.outDir, `${name}.ko`);
  step("write klp relocations", () => {
    fs.mkdirSync(opts.outDir, { recursive: true });
    const converted = convertToLivepatch(ko, fs.readFileSync(ko), plan, new Set(), tree.layouts);
    leftOut.push(...converted.leftOut);
    writeAtomically(out, converted.data);
  }, () => out);
  // The module as klp check reads any livepatch: what the kernel will load, judged again.
  const check = step("check", () => checkModule(readLivepatchModule(openModule(out), tree.layouts),
    { target: t, tree, kernel: k, modules: targetModules(t), proven: buildProof(tree.dir, changedPairs) }, log),
  (r) => `${r.verdict}: ${r.functions.length} function(s), ${r.findings.length} finding(s)`);
  if (check.verdict !== "safe") {
    fs.rmSync(out, { force: true });
    throw refuse(`klp check finds the module it wrote unsafe (${check.findings.length} finding(s)); ${out} removed`,
      check.findings.map((f) => ({ symbol: f.symbol, object: f.object, reason: f.reason, hint: f.hint })), opts.patch);
  }
  return {
    module: out, name,
    kernel: {
      release: t.release, package: t.debian?.imagePackage ?? "built tree", packageVersion: t.debian?.packageVersion ?? t.id,
      source: t.builtTree ? t.builtTree : `${t.source.package} ${t.source.version}`, tree: tree.dir,
    },
    objects: summaries, unchangedObjects: analyses.filter(({ a }) => a.exitCode !== ExitCode.patch).map(({ obj }) => obj), patchOffsets: [...offsets], proof,
    ...(screened ? { headerReaders: screened } : {}),
    check: { verdict: check.verdict, functions: check.functions.length }, steps, leftOut,
  };
}

/**
 * What the build proved for klp check: the original objects it compiled, and per livepatch
 * object the functions its diff found unchanged (a caller with the changed function inlined
 * would have changed too, and been carried).
 */
function buildProof(tree: string, pairs: readonly { obj: string; a: DiffAnalysis }[]): BuildProof {
  const unchanged = new Map<string, Set<string>>();
  for (const { obj, a } of pairs) {
    const touched = new Set([...a.sel.changed.map((c) => c.origName ?? c.name), ...a.sel.removed, ...a.sel.ignored]);
    const object = klpObjectName(tree, obj);
    const set = unchanged.get(object) ?? new Set<string>();
    for (const f of a.o.functions) if (!touched.has(f.name)) set.add(f.name);
    unchanged.set(object, set);
  }
  return { objects: pairs.map(({ obj, a }) => ({ object: obj, compiled: a.o })), unchanged };
}

function definedNames(a: DiffAnalysis): { name: string; isFunction: boolean }[] {
  return [...a.o.functions.map((f) => ({ name: f.name, isFunction: true })), ...a.o.data.map((d) => ({ name: d.name, isFunction: false }))];
}

/** Renames the undefined symbol `from` of an emitted object to `to`. */
function renameUndefined(symbols: OutSymbol[], from: string, to: string): void {
  for (const s of symbols) if (!s.section && (s.shndx ?? SHN_UNDEF) === SHN_UNDEF && s.name === from) s.name = to;
}
