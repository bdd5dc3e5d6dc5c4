// Whether the module loads and enables on the target at all: modinfo (kernel/livepatch/core.c
// refuses a module without `livepatch=Y`; the module loader one built for another kernel), every
// undefined symbol exported by the target and its symbol namespace imported, every klp relocation
// resolvable the way klp_resolve_symbols resolves it, and every patched object a module the
// target can load.
import { LOAD_TIME_TABLES } from "../object/tables.js";
import { isEnabled } from "../target/config.js";
import type { KernelView } from "../target/symbols.js";
import type { Target } from "../target/target.js";
import type { ModuleIndex } from "../vm/modules.js";
import type { Finding } from "./findings.js";
import type { KlpSymbolRef, LivepatchModule } from "./module.js";

export function modinfoFindings(m: LivepatchModule, t: Target): Finding[] {
  const out: Finding[] = [];
  const base = { object: m.name };
  if (!m.livepatch) {
    out.push({ ...base, kind: "modinfo", symbol: "livepatch", reason: "no livepatch=Y in .modinfo: klp_enable_patch refuses a module that is not marked as a livepatch",
      hint: 'add MODULE_INFO(livepatch, "Y");' });
  }
  const release = m.vermagic?.trim().split(/\s+/)[0];
  if (release !== t.release) {
    out.push({ ...base, kind: "modinfo", symbol: "vermagic", reason: m.vermagic === undefined ? "no vermagic in .modinfo: not built by kbuild for a kernel"
      : `vermagic '${m.vermagic}' is for ${release}, not ${t.release}: its struct layouts and symbol CRCs are another kernel's`,
      hint: `build it against ${t.release}'s own tree (make -C /lib/modules/${t.release}/build M=$PWD)` });
  }
  return out;
}

/** klp_object names: vmlinux, or a loadable module of the target (a built-in one is in vmlinux). */
export function objectNameFindings(m: LivepatchModule, index: ModuleIndex): Finding[] {
  const out: Finding[] = [];
  for (const p of m.patches) {
    for (const o of p.objects) {
      if (o.name === "vmlinux" || index.modules.has(o.name)) continue;
      const builtin = index.builtin.has(o.name);
      out.push({ kind: "object", object: o.name, symbol: o.name,
        reason: builtin ? `${o.name} is built into ${index.kernel}: a klp_object named ${o.name} never sees it load, so its functions are never patched`
          : `${index.kernel} has no module ${o.name}: its functions are never patched`,
        hint: builtin ? "use .name = NULL (vmlinux) for built-in code" : "name the module as modules.dep spells it (with _ for -), or NULL for vmlinux" });
    }
  }
  return out;
}

/** Undefined symbols the module loader cannot resolve: not exported by the target. */
export function unresolvedFindings(m: LivepatchModule, k: KernelView): Finding[] {
  return m.undefinedSymbols.filter((s) => !k.exports.has(s)).map((s) => ({
    kind: "unresolved" as const, object: m.name, symbol: s,
    reason: `${s} is not exported by the target (not in Module.symvers) and no klp relocation covers it: insmod fails with "Unknown symbol ${s}"`,
    hint: `refer to it through a klp relocation (.klp.sym.<object>.${s},<sympos> in a .klp.rela section), or use an exported function instead`,
  }));
}

/**
 * Undefined symbols exported into a symbol namespace (EXPORT_SYMBOL_NS) the module does not
 * import: the module loader refuses the module ("module uses symbol (dma_buf_put) from namespace
 * DMA_BUF, but does not import it", 6.1 kernel/module/main.c verify_namespace_is_imported)
 * unless the target allows missing imports. modpost stops such a build, but a module built
 * against another tree or configuration, or with modpost's checks relaxed, reaches the target.
 */
export function namespaceFindings(m: LivepatchModule, k: KernelView, t: Target): Finding[] {
  if (isEnabled(t.config, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS")) return [];
  const imported = new Set(m.importNamespaces);
  const out: Finding[] = [];
  for (const s of m.undefinedSymbols) {
    const ns = k.exports.get(s)?.namespace;
    if (!ns || imported.has(ns)) continue;
    out.push({ kind: "namespace", object: m.name, symbol: s,
      reason: `${s} is exported in symbol namespace ${ns}, which ${m.name} does not import: the module loader refuses it ("module uses symbol (${s}) from namespace ${ns}, but does not import it")`,
      hint: `import it: MODULE_INFO(import_ns, "${ns}"); is what MODULE_IMPORT_NS writes, in the form every kernel reads` });
  }
  return out;
}

function klpSymbolFinding(s: KlpSymbolRef, m: LivepatchModule, k: KernelView, index: ModuleIndex): Finding | undefined {
  const base = { kind: "klp-relocation" as const, object: s.object, symbol: `.klp.sym.${s.object}.${s.name},${s.sympos}` };
  if (s.object !== "vmlinux" && !index.modules.has(s.object)) {
    return { ...base, reason: `names module ${s.object}, which ${index.kernel} does not have as a loadable module`, hint: "name vmlinux or a module of the target" };
  }
  const table = s.object === "vmlinux" ? k.vmlinux : k.moduleTable(s.object);
  const list = table.byName.get(s.name) ?? [];
  if (!list.length) {
    return { ...base, reason: `${s.object} of the target has no symbol ${s.name}: klp_resolve_symbols fails and ${m.name} does not load`,
      hint: "refer to a symbol the target's kallsyms has (it may have been inlined or renamed in this build)" };
  }
  if (s.sympos === 0 && list.length > 1) {
    return { ...base, reason: `${list.length} symbols named ${s.name} in ${s.object} and sympos 0: klp_resolve_symbols refuses the ambiguous name`,
      hint: `use the position (1..${list.length}, kallsyms order) of the one meant` };
  }
  if (s.sympos > list.length) {
    return { ...base, reason: `sympos ${s.sympos}, but ${s.object} has ${list.length} symbol(s) named ${s.name}`, hint: `use 0 or 1..${list.length}` };
  }
  return undefined;
}

/** `.klp.sym`/`.klp.rela` the kernel rejects (module-elf-format.rst; klp_resolve_symbols). */
export function klpRelocationFindings(m: LivepatchModule, k: KernelView, index: ModuleIndex): Finding[] {
  const out: Finding[] = [];
  for (const bad of m.badKlpSymbols) {
    out.push({ kind: "klp-relocation", object: m.name, symbol: bad, reason: "not a well-formed klp symbol (.klp.sym.<object>.<name>,<sympos> with st_shndx SHN_LIVEPATCH)",
      hint: "write klp symbols in the format of Documentation/livepatch/module-elf-format.rst" });
  }
  for (const s of m.klpSymbols) {
    const f = klpSymbolFinding(s, m, k, index);
    if (f) out.push(f);
  }
  for (const r of m.klpRela) {
    if (!r.flagged) {
      out.push({ kind: "klp-relocation", object: r.object, symbol: r.section, reason: "lacks SHF_RELA_LIVEPATCH: the module loader applies it at load as an ordinary relocation against SHN_LIVEPATCH symbols and fails",
        hint: "set SHF_RELA_LIVEPATCH (0x00100000) on every .klp.rela section, after the final link" });
    }
    for (const f of r.foreign) {
      out.push({ kind: "klp-relocation", object: r.object, symbol: f, reason: `${r.section} uses ${f}, which is not a klp symbol (SHN_LIVEPATCH): klp_resolve_symbols refuses the section`,
        hint: "every relocation of a .klp.rela section must name a .klp.sym symbol" });
    }
    // The kernel reads the livepatch's load-time tables when the livepatch loads; a module's klp
    // relocations are applied only when that module is patched, later (a jump entry naming cifs's
    // __tracepoint_smb3_add_credits would be read with its key unresolved).
    if (r.object !== "vmlinux" && LOAD_TIME_TABLES.has(r.target)) {
      out.push({ kind: "klp-relocation", object: r.object, symbol: r.section,
        reason: `relocates ${r.target} against ${r.object}'s symbols, which the kernel applies only when ${r.object} is patched, after it has read the livepatch's ${r.target}`,
        hint: r.target === "__jump_table"
          ? `leave the entry out (a tracepoint's branch then stays off), or test the key with static_key_enabled() instead of static_branch_*()`
          : `leave the ${r.target} entry out, or reach ${r.object}'s symbol from code` });
    }
    // 6.1 kernel/livepatch/core.c: a module's klp relocations may not name vmlinux symbols
    // ("invalid access to vmlinux symbol ... from module-specific livepatch relocation section").
    for (const s of r.symbols) {
      if (r.object !== "vmlinux" && s.object === "vmlinux") {
        out.push({ kind: "klp-relocation", object: r.object, symbol: `.klp.sym.${s.object}.${s.name},${s.sympos}`,
          reason: `${r.section} is for module ${r.object} but names a vmlinux symbol: the kernel refuses it`,
          hint: `put relocations against vmlinux symbols in .klp.rela.vmlinux.* sections` });
      }
    }
  }
  return out;
}

/** Everything that keeps `m` from loading on the target (klp check's first stage, klp convert's gate). */
export function loadingFindings(m: LivepatchModule, c: { target: Target; kernel: KernelView; modules: ModuleIndex }): Finding[] {
  return [...modinfoFindings(m, c.target), ...objectNameFindings(m, c.modules),
    ...unresolvedFindings(m, c.kernel), ...namespaceFindings(m, c.kernel, c.target), ...klpRelocationFindings(m, c.kernel, c.modules)];
}
