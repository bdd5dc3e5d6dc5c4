// Which kernel object defines a function the livepatch replaces. Kallsyms says only that
// vmlinux has a `cmdline_proc_show`, not that fs/proc/cmdline.o holds it, so klp check decides
// it exactly in two steps: candidates from the source (the .c files with a line that starts a
// definition of the name), then the proof — each candidate the configuration builds is compiled
// in the target's tree and must define the function in its symbol table, in the right livepatch
// object (vmlinux or the module). Same-named statics in several objects are told apart the way
// `sympos` is: by kallsyms position (vmlinux is linked object by object, so an object's unique
// names lie around its copy) or, in a module, by the STT_FILE the symbol follows.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { STT_FUNC } from "../elf/constants.js";
import { ConfiguredObjects } from "../kbuild/configured.js";
import { klpObjectName } from "../kbuild/object-info.js";
import { buildOriginalObjects } from "../kbuild/tree.js";
import { readKernelObject } from "../read.js";
import type { KObject } from "../object/kobject.js";
import type { KernelSymbol, KernelView } from "../target/symbols.js";
import type { PreparedTree } from "../target/tree.js";

/** A function's object in the target tree, compiled with the tree's config and compiler. */
export interface DefiningObject {
  /** Path in the tree, e.g. fs/proc/cmdline.o. */
  readonly object: string;
  readonly compiled: KObject;
}

export type Located = { readonly found: DefiningObject } | { readonly why: string };

/** Where to look: the module's directory, or all of the kernel but other arches and tools. */
export interface SearchRoots {
  readonly tree: PreparedTree;
  readonly srcArch: string;
  /** Directory of the module's .ko under the kernel's modules dir (kernel/fs/…), or none for vmlinux. */
  readonly moduleDir?: string;
  /** Where compiled originals are kept (a cache directory). */
  readonly workDir: string;
}

const NOT_KERNEL = new Set(["Documentation", "LICENSES", "samples", "scripts", "tools", "usr", "arch", "debian"]);
/** Candidates compiled at most: a name defined in more files than this is not located. */
const MAX_CANDIDATES = 6;

function searchDirs(r: SearchRoots): string[] {
  if (r.moduleDir !== undefined) return [r.moduleDir.replace(/^kernel\//, "")];
  const top = fs.readdirSync(r.tree.dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !NOT_KERNEL.has(e.name)).map((e) => e.name);
  return [...top, path.join("arch", r.srcArch)];
}

/**
 * True when `text` has a line that starts a definition of `name`: at column 0 (kernel style puts
 * the declarator there, `static int cmdline_proc_show(struct seq_file *m, void *v)`, or the name
 * alone after a return type on the line above) and not a prototype ending in `;`.
 */
export function definesFunction(text: string, name: string): boolean {
  const re = new RegExp(`^[A-Za-z_][^;=]*\\b${name.replace(/\$/g, "\\$")}\\s*\\([^;]*$`, "m");
  return re.test(text);
}

/** The .c files of `dirs` (relative to `tree`) that start a definition of `name`. */
export function sourceCandidates(tree: string, dirs: readonly string[], name: string): string[] {
  const r = spawnSync("grep", ["-rlwF", "--include=*.c", "-e", name, ...dirs], { cwd: tree, encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed in ${tree}: ${r.stderr}`);
  return (r.stdout ?? "").split("\n").filter((f) => f !== "")
    .filter((f) => definesFunction(fs.readFileSync(path.join(tree, f), "latin1"), name)).sort();
}

const definesSymbol = (o: KObject, name: string) => o.elf.symbols.some((s) => s.type === STT_FUNC && s.name === name && s.shndx !== 0);

/** Among objects defining a same-named vmlinux static, the one whose unique names lie nearest `at`. */
function nearest(cands: readonly DefiningObject[], at: KernelSymbol, k: KernelView): DefiningObject | undefined {
  const scored = cands.map((c) => {
    const anchors = c.compiled.functions.map((f) => k.vmlinux.byName.get(f.name)).filter((l) => l?.length === 1).map((l) => l![0]!.address);
    return { c, d: anchors.length ? Math.min(...anchors.map((a) => Math.abs(a - at.address))) : Infinity };
  }).sort((a, b) => a.d - b.d);
  if (!scored.length || scored[0]!.d === Infinity || (scored.length > 1 && scored[0]!.d === scored[1]!.d)) return undefined;
  return scored[0]!.c;
}

/**
 * The object of `object` (vmlinux or a module) that defines `name` as the kallsyms symbol `at`
 * (the one old_sympos picks), compiled in the target's tree.
 */
export function definingObject(name: string, object: string, at: KernelSymbol, roots: SearchRoots, k: KernelView): Located {
  const files = sourceCandidates(roots.tree.dir, searchDirs(roots), name);
  const configured = new ConfiguredObjects(roots.tree.dir);
  const objects = files.map((f) => f.replace(/\.c$/, ".o")).filter((o) => configured.builds(o));
  if (!objects.length) return { why: `no C file this configuration builds defines ${name} (a macro-generated or assembly function?)` };
  if (objects.length > MAX_CANDIDATES) return { why: `${objects.length} files define a ${name}; too many to compile` };
  const key = createHash("sha256").update(objects.join("\n")).digest("hex").slice(0, 16);
  const built = buildOriginalObjects(roots.tree, path.join(roots.workDir, key), objects);
  const cands = objects.map((o, i) => ({ object: o, compiled: readKernelObject(built[i]!, { layouts: roots.tree.layouts }) }))
    .filter((c) => definesSymbol(c.compiled, name) && klpObjectName(roots.tree.dir, c.object) === object);
  if (cands.length === 1) return { found: cands[0]! };
  if (!cands.length) return { why: `none of ${objects.join(", ")} defines ${name} in ${object} when compiled` };
  const pick = object === "vmlinux" ? nearest(cands, at, k)
    : cands.find((c) => at.file !== undefined && path.basename(c.compiled.sourceFile ?? "") === at.file);
  return pick ? { found: pick } : { why: `${cands.map((c) => c.object).join(", ")} all define ${name}; cannot tell which is the one patched` };
}
