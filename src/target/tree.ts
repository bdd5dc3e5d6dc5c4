// The tree a livepatch is built in: klpkit's own, extracted from the exact source tarball and
// configured with the kernel's own config and compiler (one tree per source version and config,
// so 6.1.0-56-amd64 and 6.1.0-56-cloud-amd64 never share one), or a tree the user gave.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError, badInput } from "../errors.js";
import { runScript, type BuildTree } from "../kbuild/tree.js";
import type { Layouts } from "../object/layouts.js";
import { cacheDir } from "./cache.js";
import { checkInstalledCompiler, compilerOf } from "./compiler.js";
import { configDifferences, readConfig } from "./config.js";
import { probeLayouts } from "./layouts.js";
import { exactSource } from "./source.js";
import type { Target } from "./target.js";

export interface PreparedTree extends BuildTree {
  /** False for a tree the user gave (--source): klpkit did not prepare it. */
  readonly own: boolean;
  /** The special-section struct layouts of this kernel. */
  readonly layouts: Layouts;
}

/**
 * Options that name signing keys or a build id, not code: Debian's packaged config names
 * certificates the source package lacks (kernel-tree.sh blanks them) and leaves some out.
 */
const NOT_CODE = new Set(["CONFIG_SYSTEM_TRUSTED_KEYS", "CONFIG_MODULE_SIG_KEY", "CONFIG_SYSTEM_REVOCATION_KEYS", "CONFIG_MODULE_SIG_ALL", "CONFIG_BUILD_SALT"]);

function stampOf(dir: string): string {
  for (const f of [".klpkit-ready", ".config"]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return fs.readFileSync(p, "latin1");
  }
  return "";
}

export function prepareTree(t: Target, log: (s: string) => void): PreparedTree {
  if (t.builtTree) return userTree(t, t.builtTree, log);
  if (t.userTree) return userTree(t, t.userTree, log);
  checkInstalledCompiler(t.compiler, t.release);
  if (!t.debian) throw badInput(undefined, `${t.release} names neither a Debian kernel nor a built tree`);
  const src = exactSource(t.debian, t.cacheRoot, log);
  const dir = path.join(cacheDir(t.cacheRoot, "trees"), `${src.package}_${src.version}_${t.config.sha256.slice(0, 12)}`);
  // KERNELRELEASE as Debian's build sets it: UTS_RELEASE and vermagic are the running kernel's.
  const makeVars = [...t.compiler.makeVars, `KERNELRELEASE=${t.release}`];
  if (!fs.existsSync(path.join(dir, ".klpkit-ready"))) log(`preparing ${src.package} ${src.version} with ${t.release}'s config (once, about a minute)`);
  runScript("kernel-tree.sh", [], {
    KLP_TREE_DIR: dir, KLP_SOURCE_TARBALL: src.tarball, KLP_CONFIG: t.config.file, KLP_MAKE_VARS: makeVars.join(" "),
  }, `preparing ${src.package} ${src.version} for ${t.release}`);
  // olddefconfig with this machine's toolchain must give back the kernel's own config: a
  // different compiler shows up as CONFIG_GCC_VERSION, CONFIG_CC_HAS_* … and builds other code.
  const here = readConfig(path.join(dir, ".config"));
  const drift = configDifferences(t.config, here, NOT_CODE);
  if (drift.length) {
    throw new KlpError(ExitCode.refused, `configuring ${src.package} ${src.version} here does not reproduce ${t.release}'s config: ${drift.slice(0, 8).join(", ")}${drift.length > 8 ? ` and ${drift.length - 8} more` : ""} differ`,
      undefined, drift.slice(0, 8).map((k) => `${k}: kernel ${t.config.values.get(k) ?? "(unset)"}, here ${here.values.get(k) ?? "(unset)"}`),
      { hint: "install the kernel's own toolchain; klpkit builds only what the running kernel's build would have built" });
  }
  const layouts = probeLayouts(dir, makeVars, path.join(dir, ".klpkit-layouts.json"), stampOf(dir));
  return { dir, makeVars, own: true, layouts };
}

/** UTS_RELEASE the tree was prepared with (include/generated/utsrelease.h). */
function treeRelease(dir: string): string | undefined {
  const file = path.join(dir, "include/generated/utsrelease.h");
  return fs.existsSync(file) ? /UTS_RELEASE "([^"]*)"/.exec(fs.readFileSync(file, "latin1"))?.[1] : undefined;
}

/**
 * A tree of the user's, built in klpkit's copy of it (scripts/copy-tree.sh): exactly as it is
 * configured — its own compiler (from its .config, refused when the installed one differs) and
 * its own release — so no make rewrites its config or regenerates its headers, and the user's
 * tree is never written to (a make in it would leave objects built with klpkit's flags beside
 * the ones its vmlinux was linked from). The byte proof decides whether it builds the target.
 */
function userTree(t: Target, given: string, log: (s: string) => void): PreparedTree {
  if (!fs.existsSync(path.join(given, ".config")) || !fs.existsSync(path.join(given, "include/generated/autoconf.h"))) {
    throw badInput(given, "kernel tree is not prepared (.config and 'make modules_prepare' needed)");
  }
  const compiler = compilerOf(readConfig(path.join(given, ".config")));
  checkInstalledCompiler(compiler, given);
  const real = fs.realpathSync(given);
  const trees = fs.realpathSync(cacheDir(t.cacheRoot, "trees"));
  // One of klpkit's own trees (another kernel's, as test/exact gives) is built in as it is: klp
  // keeps those pristine itself. Any other tree is the user's, and only its copy is built in.
  const dir = real.startsWith(`${trees}/`) ? real : path.join(trees, `copy-${path.basename(real).replace(/[^A-Za-z0-9._-]+/g, "_")}-${createHash("sha256").update(real).digest("hex").slice(0, 12)}`);
  if (dir !== real) {
    if (!fs.existsSync(path.join(dir, ".klpkit-ready"))) log(`copying ${real} into the cache (once; klp never builds in your tree)`);
    runScript("copy-tree.sh", [real, dir], {}, `copying ${real}`);
  }
  const release = treeRelease(dir);
  const makeVars = [...compiler.makeVars, ...(release ? [`KERNELRELEASE=${release}`] : [])];
  return { dir, makeVars, own: false, layouts: probeLayouts(dir, makeVars, path.join(dir, ".klpkit-layouts.json"), stampOf(dir)) };
}
