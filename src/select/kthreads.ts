// Functions a kernel thread runs as its main function. The thread stays inside it until it is
// stopped (net/bluetooth/rfcomm/core.c: rfcomm_init starts krfcommd with kthread_run(rfcomm_run,
// ...), and rfcomm_run loops, sleeping, for the module's life), so it is always on that thread's
// stack: a livepatch that replaces it can never finish its transition (6.1.176's rfcomm fix,
// inlined into rfcomm_run, stayed "transition=1" in the VM).
import type { KFunction, KObject } from "../object/kobject.js";

/** What kthread_run, kthread_create and kthread_run_on_cpu call, with the thread's function. */
const KTHREAD_CREATORS = new Set(["kthread_create_on_node", "kthread_create_on_cpu"]);
const MODULE_ENTRY_ALIASES = new Set(["init_module", "cleanup_module"]);

/** Function symbol index → the function of `p` that passes it to a kthread creator as the thread's function. */
export function kthreadMains(p: KObject): Map<number, string> {
  const out = new Map<number, string>();
  // Most objects start no thread: their symbol table does not name a creator at all.
  if (!p.elf.symbols.some((s) => KTHREAD_CREATORS.has(s.name))) return out;
  // module_init's alias init_module is the same function as rfcomm_init: name the latter.
  const name = (index: number, starter: string) => {
    const known = out.get(index);
    if (known === undefined || MODULE_ENTRY_ALIASES.has(known)) out.set(index, starter);
  };
  for (const g of p.functions) {
    const rs = g.relocs;
    // The function whose address the code last put in the first argument register; any call
    // uses that register up (audit_add_tree_rule passes tag_mount to iterate_mounts, and only
    // then prune_tree_thread to kthread_create_on_node).
    let loaded: number | undefined;
    for (let i = 0; i < rs.length; i++) {
      const ref = p.referentOf(rs.sym(i), rs.type(i), rs.addend(i), g.section);
      if (p.arch.isBranchAt(g.bytes, rs.offset(i), rs.type(i))) {
        if (loaded !== undefined && ref.kind === "sym" && KTHREAD_CREATORS.has(ref.sym.name)) name(loaded, g.name);
        loaded = undefined;
      } else if (ref.kind === "sym" && ref.offset === 0 && p.arch.loadsFirstArgument(g.bytes, rs.offset(i), rs.type(i))) {
        loaded = p.byIndex.get(ref.sym.index)?.kind === "function" ? ref.sym.index : undefined;
      }
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
