// A kernel the user built as the target (`--source TREE`, no --kernel): klpkit's own small
// Clang-built 6.12 kernel (scripts/own-kernel.sh clang-19). Its symbols come from its own
// System.map, its compiler from its .config (LLVM=-19), and the tree is never written to: a
// build leaves its .config, vmlinux and every file byte-identical and untouched. A tree whose
// recorded compiler is not the installed one, and an LTO tree, are refused with a reason.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { repoRoot, runKlp } from "./support/klp.js";
import { ownKernelTree } from "./support/kernel.js";

const TIMEOUT = 1_800_000;
const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

interface TargetJson {
  release: string;
  builtTree?: string;
  compiler: string;
  makeVars: string[];
  files: { systemMap?: string; vmlinuz: string; modulesDir: string; symvers: string };
  tree?: string;
}

test("a built Clang tree is the target: its release, its compiler (LLVM=-19), its own System.map", { timeout: 3_600_000 }, () => {
  const tree = ownKernelTree("clang-19");
  const r = runKlp(["target", "--source", tree, "--json", "--prepare"], TIMEOUT);
  assert.equal(r.status, 0, r.stderr);
  const t = JSON.parse(r.stdout) as TargetJson;
  assert.equal(t.release, fs.readFileSync(path.join(tree, "include/config/kernel.release"), "latin1").trim());
  assert.match(t.release, /^6\.12\.\d+-klpkit$/);
  assert.equal(t.builtTree, tree);
  assert.match(t.compiler, /^Debian clang version 19\./);
  assert.ok(t.makeVars.includes("LLVM=-19"), t.makeVars.join(" "));
  assert.equal(t.files.systemMap, path.join(tree, "System.map"));
  assert.equal(t.files.symvers, path.join(tree, "Module.symvers"));
  assert.ok(fs.existsSync(path.join(t.files.modulesDir, "modules.dep")), "the tree's modules are installed into the cache");
  // klp builds in a copy: never in the tree it was given.
  assert.ok(t.tree && !t.tree.startsWith(tree), `klp's working tree ${t.tree} must not be the user's tree`);
});

/** Every regular file under `dir` newer than `marker`, a few at most (find stops early). */
function newerThan(dir: string, marker: string): string[] {
  const r = spawnSync("find", [dir, "-newer", marker, "-not", "-type", "d", "-print"], { encoding: "utf8", maxBuffer: 64 << 20 });
  return (r.stdout ?? "").split("\n").filter((l) => l !== "" && !l.endsWith(".lock"));
}

test("klp build on a user's built tree changes nothing in it: .config, vmlinux and every file stay as they were", { timeout: 3_600_000 }, () => {
  const tree = ownKernelTree("clang-19");
  const watched = [".config", "vmlinux", "System.map", "Module.symvers", "fs/proc/cmdline.o", "include/generated/autoconf.h"];
  const before = new Map(watched.map((f) => [f, sha(path.join(tree, f))]));
  const marker = path.join(os.tmpdir(), `klp-own-tree-marker-${process.pid}`);
  fs.writeFileSync(marker, "");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "klp-own-"));
  try {
    // A patch the tree has not seen, so the build really compiles (a cached pair would prove nothing).
    const patch = path.join(out, "cmdline-untouched.patch");
    fs.writeFileSync(patch, fs.readFileSync(path.join(repoRoot, "test/e2e/cmdline.patch"), "latin1").replace("klpkit=1", `klpkit=${process.pid}`));
    const b = runKlp(["build", "--patch", patch, "--source", tree, "-o", out, "--name", "livepatch_untouched", "--json"], TIMEOUT);
    assert.equal(b.status, 0, b.stderr);
    const report = JSON.parse(b.stdout) as { kernel: { release: string; tree: string }; proof: { functions: number } };
    assert.ok(report.proof.functions >= 1, "the byte proof compared the original build with the tree's own vmlinux");
    assert.ok(!report.kernel.tree.startsWith(tree), "built in klp's copy");
    assert.doesNotMatch(b.stderr, /booting .* to read|kallsyms by booting/, "symbols come from the tree's System.map, not a VM boot");
    for (const [f, h] of before) assert.equal(sha(path.join(tree, f)), h, `${f} changed`);
    assert.deepEqual(newerThan(tree, marker), [], "files written in the user's tree");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(marker, { force: true });
  }
});

/**
 * A tree that looks like `tree` (its outputs linked, not copied) but whose .config is `edit`ed:
 * what a user's tree with another compiler or LTO looks like, without a second kernel build.
 */
function alteredTree(tree: string, edit: (config: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-altered-tree-"));
  for (const f of ["Makefile", "vmlinux", "System.map", "Module.symvers", "modules.order", "include", "arch", "scripts"]) {
    fs.symlinkSync(path.join(tree, f), path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, ".config"), edit(fs.readFileSync(path.join(tree, ".config"), "latin1")));
  return dir;
}

test("a tree built by another compiler than the installed one is refused, naming both", { timeout: 3_600_000 }, () => {
  const tree = ownKernelTree("clang-19");
  const dir = alteredTree(tree, (c) => c.replace(/^CONFIG_CC_VERSION_TEXT="Debian clang version 19\.[^"]*"$/m, 'CONFIG_CC_VERSION_TEXT="Debian clang version 19.1.6 (1~deb12u1)"'));
  try {
    const r = runKlp(["build", "--patch", path.join(repoRoot, "test/e2e/cmdline.patch"), "--source", dir, "-o", dir], TIMEOUT);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /built with "Debian clang version 19\.1\.6 \(1~deb12u1\)"/);
    assert.match(r.stderr, /the installed clang-19 says "Debian clang version 19\.1\.7/);
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith(".ko")), "nothing written");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a ThinLTO tree is refused with the option named (its objects are LLVM bitcode)", { timeout: 3_600_000 }, () => {
  const tree = ownKernelTree("clang-19");
  const dir = alteredTree(tree, (c) => c.replace(/^CONFIG_LTO_NONE=y$/m, "CONFIG_LTO=y\nCONFIG_LTO_CLANG=y\nCONFIG_LTO_CLANG_THIN=y"));
  try {
    const r = runKlp(["target", "--source", dir], TIMEOUT);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /CONFIG_LTO_CLANG_THIN/);
    assert.match(r.stderr, /CONFIG_LTO_NONE/, "the hint says what to build with");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
