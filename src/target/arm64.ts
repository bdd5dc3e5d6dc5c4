// Debian's arm64 kernel as a tree to build objects in: linux-source-6.12 configured with Debian's
// own arm64 config (config.arm64_none_arm64 of linux-config-6.12:arm64, the same version) and
// Debian's cross compiler, the one its CONFIG_CC_VERSION_TEXT names. There is no image to prove
// against, resolve symbols in or boot: no Debian 12 arm64 kernel enables CONFIG_LIVEPATCH (arm64
// gained HAVE_LIVEPATCH in 6.17), so an arm64 target yields livepatch objects, not modules.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { runScript, type BuildTree } from "../kbuild/tree.js";
import type { Layouts } from "../object/layouts.js";
import { cacheDir } from "./cache.js";
import { checkInstalledCompiler, compilerOf, type Compiler } from "./compiler.js";
import { readConfig } from "./config.js";
import { extractMember, fetchDeb } from "./debian.js";
import { probeLayouts } from "./layouts.js";

/** kbuild's variables for an arm64 cross build; the compiler comes from the config. */
const ARM64_MAKE_VARS: readonly string[] = ["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"];
const CONFIG_PACKAGE = "linux-config-6.12:arm64";
const CONFIG_MEMBER = "./usr/src/linux-config-6.12/config.arm64_none_arm64.xz";
const SOURCE_PACKAGE = "linux-source-6.12";

export interface Arm64Tree extends BuildTree {
  /** The Debian version of the source and config (6.12.118-1~deb12u1). */
  readonly version: string;
  readonly config: string;
  readonly layouts: Layouts;
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const why = (r.stderr ?? r.error?.message ?? "").trim().split("\n").pop();
    throw new KlpError(ExitCode.badInput, `${cmd} ${args.join(" ")} failed: ${why}`);
  }
  return r.stdout;
}

/** The version apt would fetch of Debian's arm64 configs (its candidate). */
function configVersion(): string {
  const v = /Candidate: (\S+)/.exec(run("apt-cache", ["policy", CONFIG_PACKAGE]))?.[1];
  if (!v || v === "(none)") {
    throw new KlpError(ExitCode.badInput, `apt knows no ${CONFIG_PACKAGE}`, undefined, [],
      { hint: "dpkg --add-architecture arm64 && apt-get update (scripts/setup.sh does it)" });
  }
  return v;
}

/** Debian's arm64 config of `version`, unpacked once into the cache. */
function arm64Config(root: string, version: string): string {
  const out = path.join(cacheDir(root, "configs"), `config.arm64_none_arm64_${version}`);
  if (fs.existsSync(out)) return out;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-arm64-config-"));
  try {
    run("apt-get", ["download", "-q", `${CONFIG_PACKAGE}=${version}`], tmp);
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!deb) throw new KlpError(ExitCode.badInput, `apt-get download ${CONFIG_PACKAGE}=${version} gave no package`);
    extractMember(path.join(tmp, deb), CONFIG_MEMBER, path.join(tmp, "config.xz"));
    fs.writeFileSync(`${out}.tmp`, run("xz", ["-dc", path.join(tmp, "config.xz")]));
    fs.renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** linux-source-6.12 of `version`: its tarball in the cache, where klp build keeps sources. */
function sourceTarball(root: string, version: string): string {
  const out = path.join(cacheDir(root, "sources"), `${SOURCE_PACKAGE}_${version}.tar.xz`);
  if (fs.existsSync(out)) return out;
  const got = fetchDeb(SOURCE_PACKAGE, version, cacheDir(root, "debs"));
  if (!("deb" in got)) throw new KlpError(ExitCode.badInput, `cannot download ${SOURCE_PACKAGE} ${version}: ${got.why}`);
  extractMember(got.deb, "./usr/src/linux-source-6.12.tar.xz", out);
  fs.rmSync(got.deb, { force: true });
  return out;
}

/** The GCC release at the end of a version text: "… (Debian 12.2.0-14+deb12u1) 12.2.0" → 12.2.0. */
const gccRelease = (text: string) => /(\d+\.\d+\.\d+)\s*$/.exec(text)?.[1];

/**
 * The config names the compiler of Debian's native arm64 build, "aarch64-linux-gnu-gcc-12 (Debian
 * 12.2.0-14+deb12u1) 12.2.0"; bookworm's cross compiler of that release is packaged from 12.2.0-14
 * ("(Debian 12.2.0-14) 12.2.0"). No arm64 kernel can take the livepatch to prove bytes against,
 * so the same GCC release is accepted with a note; another release is refused.
 */
function checkCrossCompiler(c: Compiler, version: string, log: (s: string) => void): void {
  try {
    checkInstalledCompiler(c, `Debian's arm64 ${version}`);
  } catch (e) {
    const have = spawnSync(c.command, ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0]?.trim() ?? "";
    if (!(e instanceof KlpError) || !have || gccRelease(have) !== gccRelease(c.versionText)) throw e;
    log(`note: the kernel was built with "${c.versionText}", the installed cross compiler is "${have}" (same GCC release)`);
  }
}

/** What the tree is prepared from: the archive's version, its arm64 config and its source. */
export function arm64Inputs(root: string): { version: string; config: string; tarball: string } {
  const version = configVersion();
  return { version, config: arm64Config(root, version), tarball: sourceTarball(root, version) };
}

/**
 * The prepared arm64 tree under `root`/trees, keyed by source version and config content (about
 * 2.5 minutes of make -j2 modules_prepare the first time), with its layouts probed by pahole.
 */
export function prepareArm64Tree(root: string, log: (s: string) => void): Arm64Tree {
  const { version, config, tarball } = arm64Inputs(root);
  const compiler = compilerOf(readConfig(config));
  checkCrossCompiler(compiler, version, log);
  const makeVars = [...ARM64_MAKE_VARS, ...compiler.makeVars];
  const sha = createHash("sha256").update(fs.readFileSync(config)).digest("hex").slice(0, 12);
  const dir = path.join(cacheDir(root, "trees"), `${SOURCE_PACKAGE}_${version}_arm64_${sha}`);
  if (!fs.existsSync(path.join(dir, ".klpkit-ready"))) {
    log(`preparing ${SOURCE_PACKAGE} ${version} with Debian's arm64 config (once)`);
  }
  runScript("kernel-tree.sh", [], {
    KLP_TREE_DIR: dir, KLP_SOURCE_TARBALL: tarball, KLP_CONFIG: config, KLP_MAKE_VARS: makeVars.join(" "),
  }, `preparing ${SOURCE_PACKAGE} ${version} for arm64`);
  const stamp = fs.readFileSync(path.join(dir, ".klpkit-ready"), "latin1");
  const layouts = probeLayouts(dir, makeVars, path.join(dir, ".klpkit-layouts.json"), stamp);
  return { dir, makeVars, version, config, layouts };
}
