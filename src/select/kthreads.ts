// Functions a kernel thread runs as its main function. The thread stays inside it until it is
// stopped (net/bluetooth/rfcomm/core.c: rfcomm_init starts krfcommd with kthread_run(rfcomm_run,
// ...), and rfcomm_run loops, sleeping, for the module's life), so it is always on that thread's
// stack: a livepatch that replaces it can never finish its transition (6.1.176's rfcomm fix,
// inlined into rfcomm_run, stayed "transition=1" in the VM).
import type { KFunction, KObject } from "../object/kobject.js";

/** What kthread_run, kthread_create and kthread_run_on_cpu call, with the thread's function. */
const KTHREAD_CREATORS = new Set(["kthread_create_on_node", "kthread_create_on_cpu"]);
const MODULE_ENTRY_ALIASES = new Set(["init_module", "cleanup_module"]);

/** Function symbol index → the function of `p` that hands it to a kthread creator. */
export function kthreadMains(p: KObject): Map<number, string> {
  const out = new Map<number, string>();
  // Most objects start no thread: their symbol table does not name a creator at all.
  if (!p.elf.symbols.some((s) => KTHREAD_CREATORS.has(s.name))) return out;
  for (const g of p.functions) {
    const rs = g.relocs;
    let creates = false;
    const taken: number[] = [];
    for (let i = 0; i < rs.length; i++) {
      const ref = p.referentOf(rs.sym(i), rs.type(i), rs.addend(i), g.section);
      if (ref.kind !== "sym") continue;
      if (KTHREAD_CREATORS.has(ref.sym.name)) creates = true;
      else if (ref.offset === 0 && !p.arch.isBranchAt(g.bytes, rs.offset(i), rs.type(i))) taken.push(ref.sym.index);
    }
    if (!creates) continue;
    for (const index of taken) {
      if (p.byIndex.get(index)?.kind !== "function") continue;
      // module_init's alias init_module is the same function as rfcomm_init: name the latter.
      const known = out.get(index);
      if (known === undefined || MODULE_ENTRY_ALIASES.has(known)) out.set(index, g.name);
    }
  }
  return out;
}

/** The refusal of a changed kthread main function `f`, started by `starter`. */
export function kthreadMainRefusal(f: KFunction, starter: string): { symbol: string; reason: string; hint: string } {
  return {
    symbol: f.name,
    reason: `it is the main function of a kernel thread (${starter} starts the thread with it): the thread runs inside it until it stops, so the livepatch's transition could never finish`,
    hint: `leave ${f.name} unchanged and keep the fix in functions it calls, which the thread leaves and re-enters; mark them noinline where the compiler inlined them into ${f.name}`,
  };
}
