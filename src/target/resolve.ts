// Resolving the target kernel from what the user named: the one place that asks Debian, reads
// the config and finds the kernel's files (fetching them into the cache when the kernel is not
// installed). Cheap enough for every command; the source tree is prepared only by `build`.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";
import { cacheRoot } from "./cache.js";
import { compilerOf } from "./compiler.js";
import { readConfig } from "./config.js";
import { debianKernel } from "./debian.js";
import { debianKernelFiles } from "./kernel-files.js";
import { builtTree, isBuiltTree } from "./built-tree.js";
import { archOf, DEFAULT_KERNEL, type Target } from "./target.js";

export interface TargetRequest {
  /** Kernel release (default DEFAULT_KERNEL, unless `source` is a built tree). */
  readonly kernel?: string;
  /** A prepared source tree to build in (`--source`). */
  readonly source?: string;
}

/**
 * `--source TREE` alone names the kernel built in TREE when the build is finished; a tree that is
 * only configured (or any tree with `--kernel V`) is a source to build a Debian kernel's patch in.
 */
export function resolveTarget(req: TargetRequest, log: (s: string) => void): Target {
  const root = cacheRoot();
  if (req.source !== undefined && !fs.existsSync(path.join(req.source, "Makefile"))) {
    throw badInput(req.source, "not a kernel source tree (no Makefile)");
  }
  if (req.source !== undefined && req.kernel === undefined && isBuiltTree(req.source)) return builtTreeTarget(req.source, root, log);
  const release = req.kernel ?? DEFAULT_KERNEL;
  const debian = debianKernel(release, root);
  const files = debianKernelFiles(debian, root, log);
  const config = readConfig(files.config);
  return {
    release,
    arch: archOf(config),
    debian,
    source: { package: debian.sourcePackage, version: debian.sourceVersion },
    ...(req.source !== undefined ? { userTree: path.resolve(req.source) } : {}),
    config,
    compiler: compilerOf(config),
    files,
    cacheRoot: root,
    id: `${release}_${debian.packageVersion}`,
  };
}

function builtTreeTarget(dir: string, root: string, log: (s: string) => void): Target {
  const b = builtTree(dir, root, log);
  return {
    release: b.release,
    arch: b.arch,
    source: { package: b.dir, version: b.release },
    builtTree: b.dir,
    config: b.config,
    compiler: b.compiler,
    files: b.files,
    cacheRoot: root,
    id: b.id,
  };
}
