// A kernel the user built themselves, as the target: `--source TREE` without `--kernel`, where
// TREE holds a finished build. Everything a Debian kernel's packages give comes from the tree's
// own outputs instead — symbols from its System.map (real, unlike Debian's placeholder, so no VM
// boot), exports from its Module.symvers, module symbols and the VM's modules from its .ko files,
// the byte proof from its bzImage's vmlinux — and the compiler and flags are the ones its .config
// records (a Clang tree builds with LLVM=-19). The tree itself is never written to.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError, badInput } from "../errors.js";
import { cacheDir, writeCacheFile } from "./cache.js";
import { compilerOf, type Compiler } from "./compiler.js";
import { isEnabled, readConfig } from "./config.js";
import type { KernelFiles } from "./kernel-files.js";
import { archOf, sourceArch, type TargetArch } from "./target.js";

/** What a finished kernel build leaves in its tree, beside the sources. */
const BUILD_OUTPUTS = ["vmlinux", "System.map", "Module.symvers", ".config", "include/config/kernel.release"];

/** True when `dir` holds a finished build: it can be the target, not only a source to build in. */
export function isBuiltTree(dir: string): boolean {
  return BUILD_OUTPUTS.every((f) => fs.existsSync(path.join(dir, f)));
}

/** The release the tree was built as (`make kernelrelease`): 6.12.117-klpkit. */
export function builtRelease(dir: string): string {
  const release = fs.readFileSync(path.join(dir, "include/config/kernel.release"), "latin1").trim();
  if (!/^[A-Za-z0-9.+~_-]+$/.test(release)) throw badInput(path.join(dir, "include/config/kernel.release"), `'${release}' is not a kernel release`);
  return release;
}

/** The bootable image kbuild leaves for `arch`: arch/x86/boot/bzImage, arch/arm64/boot/Image. */
function bootImage(dir: string, arch: TargetArch): string {
  return path.join(dir, "arch", sourceArch(arch), "boot", arch === "x86_64" ? "bzImage" : "Image");
}

/**
 * Names the build: its release and a digest of its System.map (any relink that moves a symbol
 * changes it) and its image, so kallsyms, the unpacked image and the installed modules of one
 * build are never taken for another's.
 */
export function builtTreeId(dir: string, release: string, image: string): string {
  const st = fs.statSync(image);
  const h = createHash("sha256").update(fs.readFileSync(path.join(dir, "System.map"))).update(`${st.size} ${st.mtimeMs}`);
  return `${release}_tree-${h.digest("hex").slice(0, 12)}`;
}

/**
 * A tree's modules.order names one module per line, relative to the tree: `fs/binfmt_misc.o`
 * since 6.2, `fs/binfmt_misc.ko` before (the installed copy adds `kernel/`).
 */
function orderedModules(dir: string): string[] {
  const file = path.join(dir, "modules.order");
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "latin1").split("\n").filter((l) => l.trim() !== "")
    .map((l) => l.trim().replace(/\.o$/, ".ko"));
}

/**
 * Installs the tree's modules into the cache as `make modules_install` lays them out
 * (lib/modules/<release>/kernel/<path>.ko, modules.order, modules.builtin, depmod), without a
 * make in the tree and without stripping: the .ko files are byte for byte the tree's own.
 */
function installedModules(dir: string, release: string, id: string, root: string, log: (s: string) => void): string {
  const base = path.join(cacheDir(root, "kernels"), id, "root");
  const modulesDir = path.join(base, "lib/modules", release);
  const stamp = path.join(base, ".klpkit-installed");
  if (fs.existsSync(stamp)) return modulesDir;
  log(`installing the modules of ${dir} into the cache (as make modules_install would, without touching the tree)`);
  fs.rmSync(base, { recursive: true, force: true });
  const modules = orderedModules(dir);
  for (const m of modules) {
    const from = path.join(dir, m);
    if (!fs.existsSync(from)) throw badInput(from, "modules.order names this module, but the tree has no such file (run make modules)");
    const to = path.join(modulesDir, "kernel", m);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
  fs.mkdirSync(modulesDir, { recursive: true });
  fs.writeFileSync(path.join(modulesDir, "modules.order"), modules.map((m) => `kernel/${m}\n`).join(""));
  for (const f of ["modules.builtin", "modules.builtin.modinfo"]) {
    const from = path.join(dir, f);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(modulesDir, f));
  }
  const dep = spawnSync("depmod", ["-b", base, release], { encoding: "utf8" });
  if (dep.status !== 0) throw new KlpError(ExitCode.badInput, `depmod -b ${base} ${release} failed: ${(dep.stderr ?? dep.error?.message ?? "").trim()}`);
  writeCacheFile(stamp, `${dir}\n${modules.length} modules\n`);
  return modulesDir;
}

export interface BuiltTree {
  readonly dir: string;
  readonly release: string;
  readonly arch: TargetArch;
  readonly config: ReturnType<typeof readConfig>;
  readonly compiler: Compiler;
  readonly files: KernelFiles;
  readonly id: string;
}

/**
 * The target a built tree describes. LTO trees are refused: their objects are LLVM bitcode, which
 * no per-object diff can read, and diffing the linked vmlinux.o (upstream klp-build's way) means a
 * whole-kernel link per patch — minutes, where klpkit's budget for a patch is seconds.
 */
export function builtTree(dirGiven: string, root: string, log: (s: string) => void): BuiltTree {
  const dir = path.resolve(dirGiven);
  const config = readConfig(path.join(dir, ".config"));
  if (isEnabled(config, "CONFIG_LTO_CLANG")) {
    const kind = isEnabled(config, "CONFIG_LTO_CLANG_THIN") ? "CONFIG_LTO_CLANG_THIN" : "CONFIG_LTO_CLANG_FULL";
    throw new KlpError(ExitCode.refused, `${dir} is built with link-time optimisation (${kind}): its objects are LLVM bitcode, and klpkit diffs machine code object by object`,
      undefined, [], { hint: "build the kernel with CONFIG_LTO_NONE=y; with LTO, code moves between objects at link time and a per-object livepatch cannot be proven" });
  }
  const arch = archOf(config);
  // A config that names no compiler is bad input here, not at the first make.
  const compiler = compilerOf(config);
  const release = builtRelease(dir);
  const image = bootImage(dir, arch);
  if (!fs.existsSync(image)) throw badInput(image, "the tree has no boot image (run make in the tree first)");
  const id = builtTreeId(dir, release, image);
  const files: KernelFiles = {
    vmlinuz: image,
    config: path.join(dir, ".config"),
    modulesDir: installedModules(dir, release, id, root, log),
    symvers: path.join(dir, "Module.symvers"),
    systemMap: path.join(dir, "System.map"),
  };
  return { dir, release, arch, config, compiler, files, id };
}
