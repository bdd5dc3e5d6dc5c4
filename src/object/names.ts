// Symbol names as compilers decorate them, taken apart so the same entity can be recognised
// across two builds whose counters differ.

/** Clone kinds a compiler appends: `foo.isra.0`, `foo.constprop.3`, `foo.part.1`, `foo.cold`,
 *  Clang's promoted locals `foo.llvm.123456789`, GCC LTO's `foo.lto_priv.0`. */
const CLONE = /\.(isra|constprop|part|cold|llvm|lto_priv|localalias)(?:\.\d+)?$/;
/** GCC's static-local counter: `static int counter` inside a function becomes `counter.3`. */
const LOCAL_COUNTER = /\.\d+$/;
/**
 * Names numbered by `__COUNTER__` (and `__LINE__`), which move when code is added above:
 * `__UNIQUE_ID_ddebug412`, `__UNIQUE_ID___addressable_crc32c_le398` (the counter is the
 * trailing digits only), and BTF_ID's `__BTF_ID__struct__bpf_bloom_filter__312208` (counter 312,
 * line 208: Debian's 6.1.190 → 6.1.192 renumbered it to …312207 in kernel/bpf/bloom_filter.c).
 */
const COUNTED = /^(__UNIQUE_ID_.*?|__BTF_ID__.*__)\d+$/;

/**
 * A name whose number is `__COUNTER__`'s: it names a different entity once a patch adds a
 * counted name above it (net/ipv6/mip6.c's two MODULE_ALIAS strings: __UNIQUE_ID_alias688 was
 * "xfrm-type-10-43" in Debian's 6.1.190 build and "xfrm-type-10-60" in 6.1.192's).
 */
export function isCounted(name: string): boolean {
  return COUNTED.test(name);
}

export interface NameParts {
  /** The name without counters or clone suffixes. */
  readonly base: string;
  /** Clone kinds in the order they were applied, e.g. ["constprop", "isra"]. */
  readonly clones: readonly string[];
  /** True for a function-scope static (`name.N`). */
  readonly staticLocal: boolean;
  /**
   * The variable's own name: `base` for GCC's `counter.3`; the part after the function for
   * Clang, which names a static local `<function>.<variable>` (`show_stat._rs`).
   */
  readonly variable: string;
}

export function splitName(name: string): NameParts {
  let rest = name;
  const clones: string[] = [];
  let staticLocal = false;
  for (;;) {
    const c = CLONE.exec(rest);
    if (c) {
      clones.unshift(c[1]!);
      rest = rest.slice(0, c.index);
      continue;
    }
    if (LOCAL_COUNTER.test(rest) && rest.lastIndexOf(".") > 0) {
      staticLocal = true;
      rest = rest.replace(LOCAL_COUNTER, "");
      continue;
    }
    break;
  }
  const dot = rest.indexOf(".", 1);
  const variable = rest.slice(dot + 1).replace(COUNTED, "$1");
  return { base: rest.slice(0, dot + 1) + variable, clones, staticLocal, variable };
}

/** The key two builds of one entity share: base name plus clone kinds. */
export function correlationKey(name: string): string {
  // Most names have no dot and no counter (`kill_pid`): splitName would give them back as they are.
  if (!name.includes(".") && !name.startsWith("__UNIQUE_ID_") && !name.startsWith("__BTF_ID__")) return name;
  const p = splitName(name);
  return p.clones.length ? `${p.base}.${p.clones.join(".")}` : p.base;
}

/** `foo.cold` (and `foo.part.0.cold`) is the split-off cold tail of its parent, not a function of its own. */
export function coldParentName(name: string): string | undefined {
  const m = /^(.*)\.cold(?:\.\d+)?$/.exec(name);
  return m ? m[1] : undefined;
}

/**
 * Static locals the livepatch gets fresh copies of instead of sharing the running kernel's:
 * once-flags (`__already_done`, `__warned`, `__print_once` in `.data..once`), `__func__`,
 * lockdep keys, ratelimit state, dyndbg descriptors, switch tables, and ACPICA's per-file
 * `_acpi_module_name` string (vmlinux holds 107 of that name, which nothing can tell apart, and a
 * read-only string is the same wherever it lives).
 */
const FRESH_COPY = /^(__already_done|__warned|__print_once|__func__|__key|_rs|descriptor|__UNIQUE_ID_ddebug|CSWTCH|__msg|__tpstrtab_|__bpf_trace_tp_map_|__event_|__trace_printk_fmt|___tp_str|__once|_acpi_module_name$)/;
const FRESH_COPY_SECTION = /^(\.data\.\.once|__dyndbg|__verbose|\.data\.once|\.printk_index$)/;
/**
 * CONFIG_PRINTK_INDEX: every printk records `static const struct pi_entry _entry` (format,
 * __func__, __FILE__, __LINE__ …) in .rodata and a pointer to it, `_entry_ptr`, in
 * .printk_index. They describe formats for debugfs; a moved line changes `_entry.line` and
 * nothing the code does.
 */
const PRINTK_INDEX_ENTRY = /^_entry$/;

export function isFreshCopy(name: string, sectionName: string): boolean {
  const v = splitName(name).variable;
  return FRESH_COPY.test(v) || FRESH_COPY_SECTION.test(sectionName)
    || (PRINTK_INDEX_ENTRY.test(v) && sectionName.startsWith(".rodata"));
}
