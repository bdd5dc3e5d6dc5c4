// Which kernel object defines a function the livepatch replaces. Kallsyms says only that
// vmlinux has a `cmdline_proc_show`, not that fs/proc/cmdline.o holds it, so klp check decides
// it exactly in two steps: candidates from the source (the .c files with a line that starts a
// definition of the name), then the proof — each candidate the configuration builds is compiled
// in the target's tree and must define the function in its symbol table, in the right livepatch
// object (vmlinux or the module). Same-named statics in several objects are told apart the way
// `sympos` is: by kallsyms position (vmlinux and modules are linked object by object, so an
// object's unique names lie around its copy) or, in a module that has them, by STT_FILE.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { STT_FUNC } from "../elf/constants.js";
import { ConfiguredObjects, NOT_COMPILED } from "../kbuild/configured.js";
import { klpObjectName } from "../kbuild/object-info.js";
import { includersBeside } from "../kbuild/patch-files.js";
import { buildOriginalObjects } from "../kbuild/tree.js";
import { readKernelObject } from "../read.js";
import type { KObject } from "../object/kobject.js";
import { nearestCopy, type KernelSymbol, type KernelView, type SymbolTable } from "../target/symbols.js";
import { isText } from "./functions.js";
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

/** Candidates compiled at most: a name defined in more files than this is not located. */
const MAX_CANDIDATES = 6;

function searchDirs(r: SearchRoots): string[] {
  if (r.moduleDir !== undefined) return [r.moduleDir.replace(/^kernel\//, "")];
  const top = fs.readdirSync(r.tree.dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !NOT_COMPILED.has(e.name) && e.name !== "arch").map((e) => e.name);
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

/** Files of `dirs` (relative to `tree`) holding the word `word`. */
function grepWord(tree: string, dirs: readonly string[], word: string): string[] {
  const r = spawnSync("grep", ["-rlwF", "--include=*.c", "-e", word, ...dirs], { cwd: tree, encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed in ${tree}: ${r.stderr}`);
  return (r.stdout ?? "").split("\n").filter((f) => f !== "");
}

/**
 * The .c files of `dirs` that start a definition of `name`, and the .c files of the same
 * directory that `#include` one of them: fs/compat_binfmt_elf.c includes binfmt_elf.c and so
 * defines a second load_elf_binary.
 */
export function sourceCandidates(tree: string, dirs: readonly string[], name: string): string[] {
  const defining = grepWord(tree, dirs, name).filter((f) => definesFunction(fs.readFileSync(path.join(tree, f), "latin1"), name));
  return [...new Set([...defining, ...defining.flatMap((f) => includersBeside(tree, f))])].sort();
}

const definesSymbol = (o: KObject, name: string) => o.elf.symbols.some((s) => s.type === STT_FUNC && s.name === name && s.shndx !== 0);

/**
 * Which of the same-named symbols `copies` of `table` (vmlinux's, or a module's) an object holds:
 * the one nearest the object's functions whose names are unique there. Undefined when the object
 * has no such anchor or two copies are equally near.
 */
function copyIn(c: DefiningObject, copies: readonly KernelSymbol[], table: SymbolTable): KernelSymbol | undefined {
  const anchors = c.compiled.functions.map((f) => table.byName.get(f.name)).filter((l) => l?.length === 1).map((l) => l![0]!);
  const r = nearestCopy(copies, anchors);
  return "copy" in r ? r.copy : undefined;
}

/**
 * The object of `object` (vmlinux or a module) that defines `name` as the kallsyms symbol `at`
 * (the one old_sympos picks), compiled in the target's tree.
 */
export function definingObject(name: string, object: string, at: KernelSymbol, roots: SearchRoots, k: KernelView,
  known: readonly DefiningObject[] = []): Located {
  const defines = (c: DefiningObject) => definesSymbol(c.compiled, name) && klpObjectName(roots.tree.dir, c.object) === object;
  // Objects compiled for the module's other functions are searched first: kernel/sys.o, compiled
  // for do_prlimit, also defines __x64_sys_getrlimit, which SYSCALL_DEFINE2 hides from a search.
  const fromKnown = known.filter(defines);
  if (fromKnown.length) {
    const r = pickCopy(name, object, at, fromKnown, k);
    if ("found" in r) return r;
  }
  const compiled = compiledCandidates(name, roots);
  if (typeof compiled === "string") return { why: compiled };
  const found = compiled.filter(defines);
  if (!found.length) return { why: `no object of ${object} that this configuration builds defines ${name} when compiled` };
  return pickCopy(name, object, at, found, k);
}

/** Objects of the tree whose C source starts a definition of `name`, compiled; or why none. */
function compiledCandidates(name: string, roots: SearchRoots): DefiningObject[] | string {
  // A clone (elf_map.isra.0) is defined in C under its base name.
  const files = sourceCandidates(roots.tree.dir, searchDirs(roots), name.replace(/\..*$/, ""));
  const configured = new ConfiguredObjects(roots.tree.dir, roots.srcArch);
  const objects = files.map((f) => f.replace(/\.c$/, ".o")).filter((o) => configured.builds(o));
  if (!objects.length) return `no C file this configuration builds defines ${name} (a macro-generated or assembly function?)`;
  if (objects.length > MAX_CANDIDATES) return `${objects.length} files define a ${name}; too many to compile`;
  const key = createHash("sha256").update(objects.join("\n")).digest("hex").slice(0, 16);
  const built = buildOriginalObjects(roots.tree, path.join(roots.workDir, key), objects);
  return objects.map((o, i) => ({ object: o, compiled: readKernelObject(built[i]!, { layouts: roots.tree.layouts }) }));
}

/** Among objects defining `name`, the one holding the copy `at` that old_sympos picks. */
function pickCopy(name: string, object: string, at: KernelSymbol, cands: readonly DefiningObject[], k: KernelView): Located {
  // With one kallsyms symbol of that name, the one object defining it is its object. With
  // several, each object must be shown to hold the very copy old_sympos picks, even when only
  // one object was found (the other copy may come from a file the search cannot see).
  const table = object === "vmlinux" ? k.vmlinux : k.moduleTable(object);
  const copies = table.byName.get(name)?.filter(isText) ?? [];
  // A module's STT_FILE symbols settle it when it has them; Debian's modules have none, and then
  // the object's neighbours do, as in vmlinux.
  const byFile = (c: DefiningObject) => at.file !== undefined && path.basename(c.compiled.sourceFile ?? "") === at.file
    && copies.filter((s) => s.file === at.file).length === 1;
  const holds = (c: DefiningObject) => copies.length <= 1 ? true
    : object !== "vmlinux" && at.file !== undefined ? byFile(c) : copyIn(c, copies, table) === at;
  const picked = cands.filter(holds);
  if (picked.length === 1) return { found: picked[0]! };
  return { why: picked.length ? `${picked.map((c) => c.object).join(", ")} all define ${name}; cannot tell which holds the one patched`
    : `${cands.map((c) => c.object).join(", ")} define${cands.length === 1 ? "s" : ""} ${name}, but not the copy at 0x${at.address.toString(16)} that old_sympos picks` };
}
