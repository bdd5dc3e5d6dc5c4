// Markers a patch leaves with <linux/klpkit.h>: callbacks and things to ignore on purpose.
// Each marker is a small data object in a `.klpkit.*` section of the patched object.
import { badInput } from "../errors.js";
import type { KData, KFunction, KObject } from "../object/kobject.js";

export interface Markers {
  /** Functions marked as klp callbacks, by klp_callbacks member (pre_patch, post_patch, …). */
  readonly callbacks: { readonly kind: string; readonly function: KFunction }[];
  /** Patched-object names of functions marked KLPKIT_IGNORE_FUNCTION. */
  readonly ignoredFunctions: ReadonlySet<string>;
  /** Section names marked KLPKIT_IGNORE_SECTION. */
  readonly ignoredSections: ReadonlySet<string>;
}

const CALLBACKS = ".klpkit.callbacks.";
const CALLBACK_KINDS = new Set(["pre_patch", "post_patch", "pre_unpatch", "post_unpatch"]);
const IGNORE_FUNCTIONS = ".klpkit.ignore.functions";
const IGNORE_SECTIONS = ".klpkit.ignore.sections";

/** True for the marker objects themselves: they steer klp build and are never carried. */
export const isMarker = (d: KData) => d.section.name.startsWith(".klpkit.");

function markedFunction(p: KObject, d: KData): KFunction {
  const ref = d.relocs.length ? p.referent(d.relocs.at(0), d.section) : undefined;
  const fn = ref?.kind === "sym" ? p.byIndex.get(ref.sym.index) : undefined;
  if (fn?.kind !== "function") throw badInput(p.path, `klpkit marker ${d.name} in ${d.section.name} does not point at a function`);
  return fn;
}

export function readMarkers(p: KObject): Markers {
  const callbacks: { kind: string; function: KFunction }[] = [];
  const ignoredFunctions = new Set<string>();
  const ignoredSections = new Set<string>();
  for (const d of p.data) {
    const sec = d.section.name;
    if (sec.startsWith(CALLBACKS)) {
      const kind = sec.slice(CALLBACKS.length);
      if (!CALLBACK_KINDS.has(kind)) throw badInput(p.path, `klpkit marker ${d.name}: unknown callback kind ${kind}`);
      callbacks.push({ kind, function: markedFunction(p, d) });
    } else if (sec === IGNORE_FUNCTIONS) {
      ignoredFunctions.add(markedFunction(p, d).name);
    } else if (sec === IGNORE_SECTIONS) {
      ignoredSections.add(d.bytes.toString("latin1").replace(/\0+$/, ""));
    }
  }
  return { callbacks, ignoredFunctions, ignoredSections };
}
