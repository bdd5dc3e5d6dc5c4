// The target model on real Debian kernels: the exact source of each kernel is the source package
// of its image's own version (fetched when another version is installed); the prepared tree
// reproduces the kernel's config with its own compiler; the special-section layouts are learned
// from the kernel itself (and agree with the DWARF of the kernel's own alternative.o); a source
// the archive cannot give is refused naming both versions.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { KlpError } from "../src/errors.js";
import { exactSource } from "../src/target/source.js";
import { repoRoot, runKlp } from "./support/klp.js";
import { buildPair, preparedTree } from "./support/kernel.js";

export const KERNEL_6_12 = "6.12.117+deb12-amd64";

interface TargetJson {
  release: string;
  imagePackage: string;
  packageVersion: string;
  source: { package: string; version: string };
  compiler: string;
  makeVars: string[];
  tree?: string;
}

function target(args: string[]): TargetJson {
  const r = runKlp(["target", "--json", ...args], 1_800_000);
  assert.equal(r.status, 0, `klp target ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as TargetJson;
}

for (const [kernel, line, version] of [
  ["6.1.0-56-amd64", "6.1", "6.1.192-2"],
  ["6.1.0-50-amd64", "6.1", "6.1.176-1"],
  ["6.1.0-56-cloud-amd64", "6.1", "6.1.192-2"],
  [KERNEL_6_12, "6.12", "6.12.117-1~deb12u1"],
] as const) {
  test(`${kernel}: the exact source is linux-source-${line} ${version}, the image's own version`, () => {
    const t = target(["--kernel", kernel]);
    assert.equal(t.packageVersion, version);
    assert.deepEqual(t.source, { package: `linux-source-${line}`, version });
    assert.match(t.compiler, /gcc-12 \(Debian 12\.2\.0-14\+deb12u1\) 12\.2\.0$/);
  });
}

test("the default kernel's tree is its exact source, whatever linux-source is installed", () => {
  const t = target(["--prepare"]);
  assert.equal(t.source.version, t.packageVersion);
  // The tree is named by the exact source version, and its Makefile is that upstream version.
  assert.match(path.basename(t.tree!), new RegExp(`^linux-source-6\\.1_${t.packageVersion.replace(/[.+~]/g, "\\$&")}_[0-9a-f]{12}$`));
  const top = fs.readFileSync(path.join(t.tree!, "Makefile"), "latin1");
  assert.equal(`6.1.${/^SUBLEVEL = (\d+)$/m.exec(top)?.[1]}`, t.packageVersion.replace(/-.*$/, ""));
});

test("a release Debian does not know is bad input", () => {
  const r = runKlp(["target", "--kernel", "6.1.0-999-amd64"]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no Debian package linux-image-6\.1\.0-999-amd64/);
});

test("a source version the archive cannot give is refused, naming both versions", () => {
  const k = { release: "6.1.0-56-amd64", imagePackage: "linux-image-6.1.0-56-amd64", packageVersion: "6.1.191-7", sourcePackage: "linux-source-6.1", sourceVersion: "6.1.191-7", flavour: "amd64", installed: false };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "klp-source-"));
  try {
    assert.throws(() => exactSource(k, root, () => {}), (e: unknown) => {
      assert.ok(e instanceof KlpError);
      assert.equal(e.code, 1);
      assert.match(e.message, /exact source of 6\.1\.0-56-amd64 is linux-source-6\.1 6\.1\.191-7/);
      assert.match(e.hint ?? "", /never builds a livepatch from another version/);
      return true;
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("6.12: the tree uses the kernel's own compiler name and hides rustc from Kconfig", () => {
  const t = target(["--kernel", KERNEL_6_12, "--prepare"]);
  assert.deepEqual(t.makeVars, ["CC=x86_64-linux-gnu-gcc-12", "RUSTC=false", `KERNELRELEASE=${KERNEL_6_12}`]);
  const utsrelease = fs.readFileSync(path.join(t.tree!, "include/generated/utsrelease.h"), "latin1");
  assert.match(utsrelease, new RegExp(`"${KERNEL_6_12.replace(/[.+]/g, "\\$&")}"`));
});

/** pahole's view of one struct in a kernel object. */
function pahole(struct: string, file: string): { size: number; offsets: Map<string, number> } {
  const r = spawnSync("pahole", ["-C", struct, file], { encoding: "utf8" });
  assert.equal(r.status, 0, `pahole -C ${struct}: ${r.stderr}`);
  const offsets = new Map<string, number>();
  for (const m of r.stdout.matchAll(/(\w+)(?::\d+)?;\s*\/\*\s*(\d+)/g)) if (!offsets.has(m[1]!)) offsets.set(m[1]!, Number(m[2]));
  return { size: Number(/size: (\d+)/.exec(r.stdout)?.[1]), offsets };
}

test("6.1: layouts learned from the target agree with the DWARF of its own alternative.o", () => {
  const tree = preparedTree();
  const obj = "arch/x86/kernel/alternative.o";
  const pair = buildPair("-", [obj], "layouts-alternative");
  for (const [struct, want] of Object.entries(tree.layouts)) {
    if (struct === "pi_entry" || struct === "kernel_symbol" || struct === "_ddebug") continue; // not used by alternative.c
    if (struct.startsWith("klp_")) continue; // livepatch's own, checked against kernel/livepatch/core.o below
    const got = pahole(struct, pair.orig[0]!);
    assert.equal(want.size, got.size, `${struct} size`);
    for (const [field, l] of Object.entries(want.fields)) {
      if (got.offsets.has(field)) assert.equal(l.offset, got.offsets.get(field), `${struct}.${field}`);
    }
  }
  assert.equal(tree.layouts["alt_instr"]!.size, 12);
  assert.deepEqual(tree.layouts["alt_instr"]!.fields["cpuid"], { offset: 8, size: 2 });
  assert.deepEqual(tree.layouts["alt_instr"]!.fields["replacementlen"], { offset: 11, size: 1 });
  assert.deepEqual(tree.layouts["bug_entry"]!.fields["line"], { offset: 8, size: 2 });
  assert.equal(tree.layouts["paravirt_patch_site"]!.size, 16);
});

test("6.1: klp_patch, klp_object and klp_func as learned agree with the DWARF of kernel/livepatch/core.o", () => {
  const tree = preparedTree();
  const pair = buildPair("-", ["kernel/livepatch/core.o"], "layouts-livepatch");
  for (const struct of ["klp_patch", "klp_object", "klp_func"]) {
    const want = tree.layouts[struct]!;
    const got = pahole(struct, pair.orig[0]!);
    assert.equal(want.size, got.size, `${struct} size`);
    for (const [field, l] of Object.entries(want.fields)) assert.equal(l.offset, got.offsets.get(field), `${struct}.${field}`);
  }
  // What klp check follows: objs and funcs pointers, old_sympos an unsigned long after two pointers.
  assert.deepEqual(tree.layouts["klp_func"]!.fields["old_sympos"], { offset: 16, size: 8 });
  assert.deepEqual(tree.layouts["klp_object"]!.fields["funcs"], { offset: 8, size: 8 });
});

test("6.12: alt_instr is 14 bytes with a u32 ft_flags; no paravirt patch sites", () => {
  const tree = preparedTree(KERNEL_6_12);
  const alt = tree.layouts["alt_instr"]!;
  assert.equal(alt.size, 14);
  assert.deepEqual(alt.fields["ft_flags"], { offset: 8, size: 4 });
  assert.deepEqual(alt.fields["instrlen"], { offset: 12, size: 1 });
  assert.deepEqual(alt.fields["replacementlen"], { offset: 13, size: 1 });
  assert.equal(tree.layouts["paravirt_patch_site"], undefined);
  assert.equal(tree.layouts["jump_entry"]!.size, 16);
});

test("repository: no source file outside src/target names a kernel release", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== "target") walk(p); continue; }
      if (/\b6\.1\.0-\d+-amd64\b|\b6\.12\.\d+\+deb12/.test(fs.readFileSync(p, "utf8"))) offenders.push(path.relative(repoRoot, p));
    }
  };
  walk(path.join(repoRoot, "src"));
  assert.deepEqual(offenders, []);
});
