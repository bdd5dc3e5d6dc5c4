// Predicates for what a livepatch cannot change on a running kernel, each with the advice a
// patch author needs (see Documentation/livepatch/{livepatch,shadow-vars,callbacks}.rst).
import type { Arch } from "../arch/index.js";
import type { KFunction, KObject } from "../object/kobject.js";

export interface Refusal {
  readonly symbol: string;
  readonly reason: string;
  readonly hint: string;
}

/** An unpatchable function; `travels`: it could still go with its callers (select.ts decides). */
export interface Unpatchable extends Refusal {
  readonly travels?: boolean;
}

/** `__init`/`__exit` code: it ran at boot (and was freed) or runs only at unload. */
export function isInitOrExitSection(name: string): boolean {
  return /^\.(init|exit)\.(text|data|rodata|bss)/.test(name);
}

/**
 * Why a change to `__init`/`__exit` code or data may be left out when the user accepts it: the
 * running kernel keeps what it has, and the change takes effect with the next boot (or load).
 */
export function deferredInitReason(section: string): string {
  if (!section.startsWith(".init.")) {
    return `__exit (section ${section}): the running kernel keeps its old version; the change takes effect with the next boot or module load`;
  }
  const what = section.startsWith(".init.text") ? "ran at boot" : "was used at boot and freed";
  return `__init (section ${section}): ${what}; the change takes effect at the next boot`;
}

/** `__exit` code or data: it runs only when its module is unloaded. */
export function isExitSection(name: string): boolean {
  return /^\.exit\.(text|data|rodata|bss)/.test(name);
}

/**
 * Why a changed or new `__exit` part of built-in code is left out: code linked into vmlinux is
 * never unloaded, so it never runs (x86's vmlinux keeps .exit.text only for the alternatives that
 * point into it, and frees it with the init memory after boot).
 */
export function builtInExitReason(section: string): string {
  return `__exit (section ${section}) of code built into vmlinux: built-in code is never unloaded, so it never runs`;
}

/**
 * Module metadata: MODULE_ALIAS, MODULE_DESCRIPTION, MODULE_LICENSE … are strings in .modinfo,
 * which modpost, modinfo and depmod read from the .ko file (and vmlinux's end up in
 * modules.builtin.modinfo); no running code reads them, so a change there is nothing to patch.
 * 6.12's stable updates add many a missing MODULE_DESCRIPTION beside a fix.
 */
export function isModuleMetadata(section: string): boolean {
  return section === ".modinfo";
}

export const MODINFO_REASON = "module metadata (.modinfo): read from the module file by modinfo and depmod, never by running code; the running kernel keeps its copy";

/** The advice for a changed __init/__exit part: what to do instead, or how to accept it. */
export const INIT_HINT = "do the one-time work in a klp pre-patch callback; or, if the change may wait for the next boot, give klp build or klp diff --ignore-init-changes";

/** `noinstr` code runs where ftrace must not; the livepatch core cannot redirect it. */
export function isNoinstrSection(name: string): boolean {
  return name === ".noinstr.text" || name.startsWith(".noinstr.") || name === ".entry.text";
}

/**
 * The probes TRACE_EVENT generates (include/trace/perf.h, trace_events.h): perf_trace_<event>,
 * trace_event_raw_event_<event>; notrace, and changed whenever the event's record does
 * (drivers/usb/host/xhci-trace.h's xhci_log_ctx in 6.12.117).
 */
function isTraceEventProbe(name: string): boolean {
  return /^(perf_trace|trace_event_raw_event|trace_raw_output)_/.test(name);
}

export function unpatchableFunction(o: KObject, f: KFunction, arch: Arch, isNew: boolean): Unpatchable | undefined {
  const s = f.section.name;
  if (isInitOrExitSection(s)) {
    return { symbol: f.name, reason: `${isNew ? "new" : "changed"} ${s.startsWith(".init") ? "__init" : "__exit"} code (section ${s}): it has already run at boot, or runs only at unload, so a livepatch cannot change it`,
      hint: INIT_HINT };
  }
  if (isNew) return undefined;
  if (isNoinstrSection(s)) {
    return { symbol: f.name, reason: `changed noinstr function (section ${s}): ftrace may not hook it, so it cannot be livepatched`, hint: "patch the instrumentable callers instead" };
  }
  if (!arch.hasFtraceEntry(o.codeView(f))) {
    return { symbol: f.name, reason: "changed function has no __fentry__ call (notrace, or built without -pg): ftrace cannot redirect it (a local one travels with its callers only when all of them are carried and no data holds its address)",
      hint: isTraceEventProbe(f.name)
        ? "a trace event's record changed (TRACE_EVENT's TP_STRUCT__entry or TP_fast_assign): the event's probes are notrace and its format is fixed at boot; keep the event as it is and change only the code around it"
        : "patch its callers, or make the function traceable in the running kernel's build", travels: true };
  }
  return undefined;
}

/**
 * A changed prototype, seen through kCFI: the running kernel's callers (and every indirect call,
 * checked against the old type hash in the original's `__cfi_` preamble, which stays) pass the old
 * arguments, and ftrace hands them to the replacement unchanged.
 */
export function typeChangeRefusal(fn: string): Refusal {
  return { symbol: fn, reason: "the function's type changed (its kCFI type hash differs): the running kernel's callers, direct and indirect, pass arguments of the old prototype to the replacement",
    hint: "keep the prototype; put the new signature in a new function that the old one calls" };
}
