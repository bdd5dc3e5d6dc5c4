// Real arm64 kernel objects for tests: Debian's 6.12 source (linux-source-6.12) configured with
// Debian's own arm64 config (config.arm64_none_arm64 of linux-config-6.12:arm64, the same
// version) and cross-built with its own compiler (aarch64-linux-gnu-gcc-12), prepared once by
// scripts/kernel-tree.sh under $KLP_CACHE/trees (keyed by source version and config content),
// then pairs of objects before and after a patch (scripts/build-pair.sh). No Debian 12 arm64
// kernel enables CONFIG_LIVEPATCH, so there is no image to prove against or boot: objects only.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { extractMember, fetchDeb } from "../../src/target/debian.js";
import { klpCache } from "./kernel.js";
import { repoRoot } from "./klp.js";

/** kbuild's variables for every make in the arm64 tree: the config's CONFIG_CC_VERSION_TEXT. */
export const ARM64_MAKE_VARS: readonly string[] = ["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-", "CC=aarch64-linux-gnu-gcc-12"];
const CONFIG_PACKAGE = "linux-config-6.12:arm64";
const CONFIG_MEMBER = "./usr/src/linux-config-6.12/config.arm64_none_arm64.xz";

export interface Arm64Tree {
  readonly dir: string;
  readonly version: string;
  readonly config: string;
}

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (status ${r.status ?? r.signal}):\n${(r.stderr ?? "").trim()}`);
  return r.stdout;
}

/** The version apt would fetch of a package (its candidate), e.g. 6.12.118-1~deb12u1. */
function candidate(pkg: string): string {
  const v = /Candidate: (\S+)/.exec(sh("apt-cache", ["policy", pkg]))?.[1];
  if (!v || v === "(none)") throw new Error(`apt knows no ${pkg}: scripts/setup.sh adds the arm64 architecture and runs apt-get update`);
  return v;
}

/** Debian's arm64 config of `version`, unpacked once into the cache. */
function arm64Config(version: string): string {
  const out = path.join(klpCache, "configs", `config.arm64_none_arm64_${version}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-arm64-config-"));
  try {
    sh("apt-get", ["download", "-q", `${CONFIG_PACKAGE}=${version}`], tmp);
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${CONFIG_PACKAGE}=${version} gave no package`);
    extractMember(path.join(tmp, deb), CONFIG_MEMBER, path.join(tmp, "config.xz"));
    fs.writeFileSync(`${out}.tmp`, sh("xz", ["-dc", path.join(tmp, "config.xz")]));
    fs.renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** linux-source-6.12 of `version`: its tarball in the cache (where klp build keeps it too). */
function sourceTarball(version: string): string {
  const out = path.join(klpCache, "sources", `linux-source-6.12_${version}.tar.xz`);
  if (fs.existsSync(out)) return out;
  const got = fetchDeb("linux-source-6.12", version, path.join(klpCache, "debs"));
  if (!("deb" in got)) throw new Error(`cannot download linux-source-6.12 ${version}: ${got.why}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  extractMember(got.deb, "./usr/src/linux-source-6.12.tar.xz", out);
  fs.rmSync(got.deb, { force: true });
  return out;
}

/** What the tree is prepared from: the archive's version, its arm64 config and its source. */
export function arm64Inputs(): { version: string; config: string; tarball: string } {
  const version = candidate(CONFIG_PACKAGE);
  return { version, config: arm64Config(version), tarball: sourceTarball(version) };
}

let prepared: Arm64Tree | undefined;

/** The prepared arm64 tree (about 2.5 minutes of make -j2 the first time, then cached). */
export function arm64Tree(): Arm64Tree {
  if (prepared) return prepared;
  const { version, config, tarball } = arm64Inputs();
  const sha = crypto.createHash("sha256").update(fs.readFileSync(config)).digest("hex").slice(0, 12);
  const dir = path.join(klpCache, "trees", `linux-source-6.12_${version}_arm64_${sha}`);
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/kernel-tree.sh")], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
    env: { ...process.env, KLP_TREE_DIR: dir, KLP_SOURCE_TARBALL: tarball, KLP_CONFIG: config, KLP_MAKE_VARS: ARM64_MAKE_VARS.join(" ") },
  });
  if (r.status !== 0) throw new Error(`scripts/kernel-tree.sh (arm64) failed:\n${(r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n")}`);
  prepared = { dir, version, config };
  return prepared;
}

/** Objects `objs` of the arm64 tree before and after `patchFile`, in $KLP_CACHE/pairs/arm64-<name>. */
export function buildArm64Pair(patchFile: string, objs: string[]): { orig: string[]; patched: string[] } {
  const tree = arm64Tree();
  const outDir = path.join(klpCache, "pairs", `arm64-${path.basename(patchFile, ".patch")}`);
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/build-pair.sh"), patchFile, outDir, ...objs], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
    env: { ...process.env, KLP_TREE: tree.dir, KLP_MAKE_VARS: ARM64_MAKE_VARS.join(" ") },
  });
  if (r.status !== 0) {
    throw new Error(`scripts/build-pair.sh ${patchFile} (arm64) failed:\n${(r.stderr ?? "").trimEnd().split("\n").slice(-25).join("\n")}`);
  }
  return { orig: objs.map((o) => path.join(outDir, "orig", o)), patched: objs.map((o) => path.join(outDir, "patched", o)) };
}
