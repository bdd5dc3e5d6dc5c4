// From the verdicts, what the livepatch must carry (changed and new functions, their cold
// parts, new and fresh-copy data) and what it must refuse.
import type { Comparer } from "../compare/compare.js";
import type { Correlation } from "../correlate/correlate.js";
import { isMarker, readMarkers, type Markers } from "./markers.js";
import type { KData, KFunction, KObject } from "../object/kobject.js";
import { coldParentName } from "../object/names.js";
import { STB_LOCAL } from "../elf/constants.js";
import { builtInExitReason, deferredInitReason, INIT_HINT, isExitSection, isInitOrExitSection, isModuleMetadata, MODINFO_REASON, typeChangeRefusal, unpatchableFunction, type Refusal } from "./refusals.js";
import { kthreadMainRefusal, kthreadMains } from "./kthreads.js";

export type { Refusal } from "./refusals.js";

export interface FunctionChange {
  /** Name in the patched object. */
  readonly name: string;
  /** Name in the original (running) object; differs when a clone's number moved. */
  readonly origName?: string;
  readonly section: string;
  readonly reason: string;
}

export interface Selection {
  readonly changed: FunctionChange[];
  readonly new: FunctionChange[];
  readonly removed: string[];
  /** Functions whose code differs only in __LINE__ values. */
  readonly lineOnly: string[];
  readonly refused: Refusal[];
  /** Patched-object functions the output carries (changed, new and their .cold parts). */
  readonly carried: KFunction[];
  /** Changed data objects that are fresh copies (once-flags, __func__ …), never refused. */
  readonly freshDataChanged: string[];
  /** Functions the patch marked as klp callbacks (KLPKIT_POST_PATCH(fn) … in <linux/klpkit.h>). */
  readonly callbacks: Markers["callbacks"];
  /**
   * Changed or new functions and data left out on purpose: marked KLPKIT_IGNORE_FUNCTION/SECTION,
   * or `__init`/`__exit` changes the user accepted for the next boot.
   */
  readonly ignored: string[];
  /** Why each of `ignored` was left out. */
  readonly ignoredWhy: ReadonlyMap<string, string>;
}

export interface SelectOptions {
  /**
   * Leave changed `__init`/`__exit` code and data out (listed under `ignored`) instead of
   * refusing them: the user accepts that such a change takes effect only at the next boot.
   */
  readonly ignoreInitChanges?: boolean;
  /**
   * The object is linked into vmlinux: its changed or new `__exit` code and data never run, so they
   * are left out (listed under `ignored`), not refused. A stable fix that adds a cleanup function
   * beside its runtime change (net/ipv4/tcp_cubic.c's cubictcp_unregister, say) then patches
   * only the runtime part. In a module, `__exit` code runs at unload and stays refused.
   */
  readonly builtIn?: boolean;
}

const MARKED = "marked with KLPKIT_IGNORE_*: the running kernel keeps its code or data";

export function select(o: KObject, p: KObject, corr: Correlation, cmp: Comparer, opts: SelectOptions = {}): Selection {
  const changed = new Map<KFunction, FunctionChange>();
  const added = new Map<KFunction, FunctionChange>();
  const lineOnly: string[] = [];
  const refused: Refusal[] = [];
  const byName = new Map(p.functions.map((f) => [f.name, f] as const));
  const markers = readMarkers(p);
  const ignoredWhy = new Map<string, string>();
  const ignore = (name: string, why: string) => ignoredWhy.set(name, why);
  const deferred = (section: string) => opts.ignoreInitChanges === true && isInitOrExitSection(section);
  const neverRuns = (section: string) => opts.builtIn === true && isExitSection(section);
  // A .cold part follows its parent; a section marker covers everything in the section.
  const ignoreReason = (f: KFunction) => markers.ignoredSections.has(f.section.name)
    || markers.ignoredFunctions.has(coldParentName(f.name) ?? f.name) ? MARKED
    : neverRuns(f.section.name) ? builtInExitReason(f.section.name)
      : deferred(f.section.name) ? deferredInitReason(f.section.name) : undefined;

  for (const f of p.functions) {
    const oi = corr.p2o.get(f.sym.index);
    const of = oi === undefined ? undefined : o.byIndex.get(oi);
    if (!of || of.kind !== "function") {
      const why = ignoreReason(f);
      if (why) ignore(f.name, why);
      else added.set(f, { name: f.name, section: f.section.name, reason: "new function" });
      continue;
    }
    const v = cmp.compareFunction(of, f);
    if (v.same) {
      if (v.lineOnly) lineOnly.push(f.name);
      continue;
    }
    const why = ignoreReason(f);
    if (why) {
      ignore(f.name, why);
      continue;
    }
    changed.set(f, { name: f.name, ...(of.name !== f.name ? { origName: of.name } : {}), section: f.section.name, reason: v.reason });
    if (v.typeChanged) refused.push(typeChangeRefusal(f.name));
  }

  // A .cold part is the tail of its parent: a change in either carries both, and the parent
  // is what gets reported and patched.
  const carried = new Set<KFunction>([...changed.keys(), ...added.keys()]);
  for (const f of [...carried]) {
    const parentName = coldParentName(f.name);
    const parent = parentName ? byName.get(parentName) : undefined;
    if (parent && !carried.has(parent)) {
      carried.add(parent);
      if (!added.has(parent)) changed.set(parent, { name: parent.name, section: parent.section.name, reason: `its cold part ${f.name} changed` });
    }
  }
  for (const f of p.functions) {
    const parentName = coldParentName(f.name);
    const parent = parentName ? byName.get(parentName) : undefined;
    if (parent && carried.has(parent)) carried.add(f);
  }
  // Asked of every carried function, and again after callers are pulled in: computed once each.
  const unpatchable = once((f: KFunction) => unpatchableFunction(p, f, p.arch, added.has(f)));
  const localOnly = once((f: KFunction) => mayTravel(p, f));
  const mayTravelAlone = (f: KFunction) => !coldParentName(f.name) && unpatchable(f)?.travels === true && localOnly(f);
  pullCallersOfTravellers(o, p, corr, byName, carried, changed, mayTravelAlone);
  const reported = (m: Map<KFunction, FunctionChange>) => [...m].filter(([f]) => !coldParentName(f.name)).map(([, c]) => c);

  for (const f of carried) {
    if (coldParentName(f.name)) continue;
    const r = unpatchable(f);
    if (r && r.travels && localOnly(f) && callersAllCarried(p, f, carried)) {
      // No klp_func for it: the carried callers call the livepatch's copy, and the running
      // kernel's copy stays for nobody.
      const c = changed.get(f)!;
      changed.delete(f);
      added.set(f, { ...c, reason: `${c.reason}; no __fentry__ (a notrace helper), so it travels as a new local copy with its callers, all of which are carried` });
      continue;
    }
    if (r) refused.push({ symbol: r.symbol, reason: r.reason, hint: r.hint });
  }
  if (changed.size) {
    const mains = kthreadMains(p);
    for (const f of changed.keys()) {
      const starter = mains.get(f.sym.index);
      if (starter !== undefined && !coldParentName(f.name)) refused.push(kthreadMainRefusal(f, starter));
    }
  }

  const freshDataChanged: string[] = [];
  for (const d of p.data) {
    const oi = corr.p2o.get(d.sym.index);
    const od = oi === undefined ? undefined : o.byIndex.get(oi);
    if (!od || od.kind !== "data" || isMarker(d)) continue;
    const v = cmp.compareData(od, d);
    if (v.same) continue;
    if (markers.ignoredSections.has(d.section.name)) { ignore(d.name, MARKED); continue; }
    if (neverRuns(d.section.name)) { ignore(d.name, builtInExitReason(d.section.name)); continue; }
    if (isModuleMetadata(d.section.name)) { ignore(d.name, MODINFO_REASON); continue; }
    if (deferred(d.section.name)) { ignore(d.name, deferredInitReason(d.section.name)); continue; }
    if (d.freshCopy) { freshDataChanged.push(d.name); continue; }
    refused.push(dataRefusal(od, d, v.reason));
  }

  for (const [name, how] of o.exports) {
    const now = p.exports.get(name);
    if (now === undefined) refused.push({ symbol: name, reason: "exported symbol removed: modules linked against it would break", hint: "keep the export; make the old entry point call the new code" });
    else if (now !== how) refused.push({ symbol: name, reason: `export changed from ${how} to ${now}`, hint: "keep the export as it is" });
  }
  for (const name of p.exports.keys()) {
    if (!o.exports.has(name)) refused.push({ symbol: name, reason: "new exported symbol: a livepatch cannot add an export to the patched object", hint: "call the function from patched code without exporting it" });
  }

  const removed = o.functions.filter((f) => !corr.o2p.has(f.sym.index) && !coldParentName(f.name)).map((f) => f.name);
  return {
    changed: reported(changed), new: reported(added), removed, lineOnly, refused,
    carried: p.functions.filter((f) => carried.has(f)), freshDataChanged, callbacks: markers.callbacks,
    ignored: [...ignoredWhy.keys()], ignoredWhy,
  };
}

function dataRefusal(od: KData, d: KData, reason: string): Refusal {
  if (od.sym.size !== d.sym.size) {
    return { symbol: d.name, reason: `data object changed size (${reason}): a struct layout or array size changed, and the running kernel's instance cannot grow`,
      hint: "keep the layout; attach new fields with a shadow variable (klp_shadow_alloc)" };
  }
  if (d.section.name === ".data..ro_after_init") {
    return { symbol: d.name, reason: `changed __ro_after_init data (${reason}): it was set during boot and is read-only now`,
      hint: "leave it alone; keep the new value in a shadow variable or new data used by the patched code" };
  }
  if (isInitOrExitSection(d.section.name)) {
    return { symbol: d.name, reason: `changed __initdata (${reason}): it was used at boot and freed`, hint: INIT_HINT };
  }
  return { symbol: d.name, reason: `changed initialiser of existing data (${reason}): the running kernel keeps the old value`,
    hint: "set the new value from a klp post-patch callback, or leave the data alone and change the code that uses it" };
}

/** `fn` computed once per function. */
function once<T>(fn: (f: KFunction) => T): (f: KFunction) => T {
  const memo = new Map<KFunction, T>();
  return (f) => {
    if (!memo.has(f)) memo.set(f, fn(f));
    return memo.get(f)!;
  };
}

/**
 * A changed local helper ftrace cannot hook travels with its callers: its unchanged callers are
 * patched too, so that all of them call the livepatch's copy. Repeated, since a pulled-in caller
 * may be such a helper itself. Callers in `__init`/`__exit` code are left, and the helper is
 * then refused.
 */
function pullCallersOfTravellers(o: KObject, p: KObject, corr: Correlation, byName: ReadonlyMap<string, KFunction>,
  carried: Set<KFunction>, changed: Map<KFunction, FunctionChange>, travels: (f: KFunction) => boolean): void {
  for (let grew = true; grew;) {
    grew = false;
    for (const f of [...carried]) {
      if (!travels(f)) continue;
      for (const index of p.owners().get(f.sym.index) ?? []) {
        const user = p.byIndex.get(index);
        if (!user || user.kind !== "function") continue;
        const caller = byName.get(coldParentName(user.name) ?? "") ?? user;
        if (carried.has(caller) || isInitOrExitSection(caller.section.name)) continue;
        const oi = corr.p2o.get(caller.sym.index);
        const of = oi === undefined ? undefined : o.byIndex.get(oi);
        changed.set(caller, { name: caller.name, ...(of && of.name !== caller.name ? { origName: of.name } : {}), section: caller.section.name,
          reason: `calls ${f.name}, whose change ftrace cannot apply: patched to call the livepatch's copy` });
        carried.add(caller);
        for (const g of p.functions) if (coldParentName(g.name) === caller.name) carried.add(g);
        grew = true;
      }
    }
  }
}

/**
 * Whether every caller of a changed function ftrace cannot hook is carried, so that it may
 * travel with them: a local function (typically a `static inline` helper compiled out of line,
 * which the kernel's `inline` makes notrace: fs/namespace.c's `__do_sys_*`,
 * `zero_user_segments.constprop.0`) whose address no data of the object holds (`mayTravel`:
 * an ops table would keep calling the running kernel's copy).
 */
function callersAllCarried(p: KObject, f: KFunction, carried: ReadonlySet<KFunction>): boolean {
  for (const index of p.owners().get(f.sym.index) ?? []) {
    const caller = p.byIndex.get(index);
    if (!caller || caller.kind !== "function" || (caller !== f && !carried.has(caller))) return false;
  }
  return true;
}

/** A local function whose address no data of the object holds: only code can reach it. */
function mayTravel(p: KObject, f: KFunction): boolean {
  if (f.sym.bind !== STB_LOCAL) return false;
  for (const d of p.data) {
    const rs = d.relocs;
    for (let i = 0; i < rs.length; i++) {
      const ref = p.referentOf(rs.sym(i), rs.type(i), rs.addend(i), d.section);
      if (ref.kind === "sym" && ref.sym.index === f.sym.index) return false;
    }
  }
  return true;
}
