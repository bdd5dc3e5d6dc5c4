// request_module() in the VM. A module's init may ask the kernel for another module by name or
// alias, and on a real system modprobe answers: Debian 6.1's rxrpc allocates "pcbc(fcrypt)" at
// init, and the crypto API asks for crypto-pcbc(fcrypt), then crypto-pcbc, then (once pcbc is
// there) crypto-fcrypt; nf_conntrack_amanda asks for ts_kmp. The VM has no module tree, so
// its init fails with ENOENT. /init points kernel.modprobe at a script that prints each name
// asked for on the console and loads what the host put into the VM for it; a run where a
// module's insmod failed after the kernel asked for a module the target has is booted again
// with that module.
import { MARKER } from "./init-script.js";
import { moduleName } from "./modinfo.js";
import { resolveLoadOrder, type LoadModule, type ModuleIndex } from "./modules.js";

/** A name request_module() asked for in the VM, and the modules put into the VM to answer it. */
export interface ServedRequest {
  readonly name: string;
  /** Load order, dependencies first; empty when the target has no module for the name. */
  readonly modules: readonly LoadModule[];
}

const REQUEST = new RegExp(`${MARKER} request name=(\\S+)`);

/** The names the kernel asked modprobe for, in order, each once. */
export function requestedNames(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const name = REQUEST.exec(l)?.[1];
    if (name && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * The target's modules that answer `name` as modprobe would: the module of that name, else the
 * modules giving it as a plain alias (`crypto-fcrypt` → fcrypt). Nothing for a built-in module
 * or a name no module provides (`crypto-pcbc(fcrypt)-all`).
 */
function providers(index: ModuleIndex, name: string): string[] {
  const own = moduleName(name);
  if (index.builtin.has(own)) return [];
  if (index.modules.has(own)) return [own];
  return [...(index.aliases.get(name) ?? [])].filter((m) => index.modules.has(m));
}

/**
 * `before` and each name not in it with the modules that answer it: a name asked for in an earlier
 * boot stays answered, as the request may come only once what answered it is loaded.
 */
export function serve(index: ModuleIndex, names: readonly string[], before: readonly ServedRequest[]): ServedRequest[] {
  const fresh = names.filter((name) => !before.some((r) => r.name === name));
  return [...before, ...fresh.map((name) => ({ name, modules: resolveLoadOrder(index, providers(index, name), "request_module") }))];
}

/** True when `now` puts a module into the VM that `before` did not. */
export function servesMore(now: readonly ServedRequest[], before: readonly ServedRequest[]): boolean {
  const had = new Set(before.flatMap((r) => r.modules.map((m) => m.name)));
  return now.some((r) => r.modules.some((m) => !had.has(m.name)));
}
