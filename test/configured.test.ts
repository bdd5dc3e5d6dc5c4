// Which objects this kernel's configuration builds, asked from kbuild in the prepared Debian tree,
// and which objects read a header.
// The answers were checked by hand against /boot/config-6.1.0-56-amd64 and the Makefiles.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ConfiguredObjects } from "../src/kbuild/configured.js";
import { IncludeGraph } from "../src/kbuild/include-graph.js";
import { affectedObjects } from "../src/kbuild/patch-files.js";
import { spawn } from "node:child_process";
import { buildPair, kernelTree, preparedTree } from "./support/kernel.js";
import { repoRoot } from "./support/klp.js";

const cases: [string, boolean, string][] = [
  ["fs/proc/cmdline.o", true, "a plain obj-y of a visited directory"],
  ["fs/proc/task_mmu.o", true, "proc-$(CONFIG_MMU) := task_mmu.o overrides proc-y := nommu.o"],
  ["fs/proc/nommu.o", false, "replaced by task_mmu.o when CONFIG_MMU=y"],
  ["fs/binfmt_misc.o", true, "obj-$(CONFIG_BINFMT_MISC) (=m)"],
  ["arch/x86/kernel/process.o", true, "arch/ has no kbuild Makefile: the top-level Makefile visits arch/x86/"],
  ["arch/x86/kvm/vmx/vmx.o", true, "listed by arch/x86/kvm/Makefile as kvm-intel-y += vmx/vmx.o (no Makefile in vmx/)"],
  ["drivers/net/wireguard/main.o", true, "a module directory visited through drivers/net/"],
  ["drivers/gpu/drm/i810/i810_dma.o", false, "CONFIG_DRM_I810 is not set"],
  ["drivers/char/ipmi/ipmi_msghandler.o", true, "drivers/Makefile lists char/ipmi/ itself (drivers/char/Makefile never names ipmi)"],
  ["arch/alpha/mm/fault.o", false, "arch/alpha/mm/Makefile lists it, but an x86-64 build never visits arch/alpha/"],
  ["arch/x86/mm/fault.o", true, "the same object of the kernel's own architecture"],
];

test("objects the configuration builds, as kbuild computes them", () => {
  const configured = new ConfiguredObjects(kernelTree(), "x86");
  for (const [object, built, why] of cases) assert.equal(configured.builds(object), built, `${object}: ${why}`);
});

// A header patch reaches every object whose compile reads the header, through any chain of
// includes: fs/proc/cmdline.c names four headers, and kbuild's record of its compile
// (fs/proc/.cmdline.o.cmd, written by the compiler's -MD) lists hundreds. Each of them must lead
// back to cmdline.c in the include graph, or a patch to it would leave cmdline.o unbuilt.
test("a header patch rebuilds every object that reads the header, through any chain of includes", () => {
  const tree = kernelTree();
  const pair = buildPair("-", ["fs/proc/cmdline.o"], "include-graph");
  const cmd = fs.readFileSync(path.join(path.dirname(pair.patched[0]!), ".cmdline.o.cmd"), "utf8");
  const headers = [...cmd.matchAll(/^\s+(\S+\.h)\s*\\?$/gm)].map((m) => m[1]!).filter((h) => !h.startsWith("/"));
  assert.ok(headers.length > 300, `the compiler's record lists ${headers.length} headers`);
  const graph = IncludeGraph.of(tree, "x86");
  const missed = headers.filter((h) => !graph.cFilesReading(h).includes("fs/proc/cmdline.c"));
  assert.deepEqual(missed, [], "headers cmdline.c reads that the include graph does not lead back from");
  // Most of them through other headers: cmdline.c itself names four.
  const direct = fs.readFileSync(path.join(tree, "fs/proc/cmdline.c"), "latin1").match(/^#include/gm) ?? [];
  assert.ok(direct.length < 10, `cmdline.c names ${direct.length} headers`);
  // And a header it never reads does not bring it in.
  assert.ok(!graph.cFilesReading("include/rdma/ib_umem.h").includes("fs/proc/cmdline.c"));
  // fs/proc/internal.h is read in its directory and by fs/proc_namespace.c ("proc/internal.h"),
  // which a search of the header's directory missed; nommu.c is not built with CONFIG_MMU.
  const a = affectedObjects(tree, ["fs/proc/internal.h"], "x86").objects;
  assert.ok(a.includes("fs/proc/base.o") && a.includes("fs/proc_namespace.o") && !a.includes("fs/proc/nommu.o"), a.join(" "));
});

// A patch that adds a file, written as `diff -uN --label a/F --label b/F` writes it (no
// /dev/null, no epoch date): reversing it leaves the file behind, empty, unless build-pair.sh
// removes what the patch added. 6.1.176's stable update adds i915's display/intel_dpcd.h; the
// pristine 6.1.170 tree kept an empty one, and the next fix that added it failed to build.
test("a patch that adds a header leaves no trace of it in the tree once reverted", () => {
  const tree = kernelTree();
  const added = "fs/proc/klp-added-dir/klp-added.h";
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-added-"));
  const patch = path.join(tmp, "adds-header.patch");
  fs.writeFileSync(patch, [
    `--- a/${added}`, `+++ b/${added}`, "@@ -0,0 +1 @@", '+#define KLP_ADDED_TEXT "added"',
    "--- a/fs/proc/cmdline.c", "+++ b/fs/proc/cmdline.c", "@@ -3,11 +3,12 @@",
    " #include <linux/init.h>", " #include <linux/proc_fs.h>", " #include <linux/seq_file.h>",
    '+#include "klp-added-dir/klp-added.h"', " ", " static int cmdline_proc_show(struct seq_file *m, void *v)",
    " {", " \tseq_puts(m, saved_command_line);", "-\tseq_putc(m, '\\n');", "+\tseq_puts(m, KLP_ADDED_TEXT \"\\n\");",
    " \treturn 0;", " }", " ", "",
  ].join("\n"));
  try {
    const pair = buildPair(patch, ["fs/proc/cmdline.o"], "adds-header");
    assert.ok(fs.readFileSync(pair.patched[0]!).includes("added\n"), "the patched object uses the added header");
    assert.ok(!fs.existsSync(path.join(tree, added)), `${added} is still in the tree after the revert`);
    assert.ok(!fs.existsSync(path.join(tree, path.dirname(added))), "the directory the patch added is still there");
    assert.ok(!fs.existsSync(path.join(tree, ".klpkit-created")));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// A run killed outright (SIGKILL: no trap runs) while its patch is applied leaves the tree
// patched; the next run must put every file back from the copy it took before applying, however
// far `patch` got. `patch -R` could not undo a half-applied patch: a corpus run stopped during
// 6.12's drivers/base fix left two files patched, and every later build in that tree failed.
test("a run killed with its patch applied leaves a tree the next run puts back", async () => {
  const tree = preparedTree();
  const file = path.join(tree.dir, "fs/proc/cmdline.c");
  const before = fs.readFileSync(file);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-killed-"));
  const patch = path.join(tmp, "killed.patch");
  const second = path.join(tree.dir, "fs/proc/version.c");
  const secondBefore = fs.readFileSync(second);
  fs.writeFileSync(patch, fs.readFileSync(path.join(repoRoot, "test/e2e/cmdline.patch"), "utf8").replace("klpkit=1", "klpkit-killed=1") + [
    "--- a/fs/proc/version.c", "+++ b/fs/proc/version.c", "@@ -12,7 +12,7 @@ static int version_proc_show(struct seq_file *m, void *v)",
    "\tseq_printf(m, linux_proc_banner,", "\t\tutsname()->sysname,", "\t\tutsname()->release,",
    "-\t\tutsname()->version);", "+\t\tutsname()->version /* killed */);", " \treturn 0;", " }", " ", "",
  ].map((l, i) => (i >= 3 && i <= 5 ? ` ${l}` : l)).join("\n"));
  try {
    const child = spawn("bash", [path.join(repoRoot, "scripts/build-pair.sh"), patch, path.join(tmp, "out"), "fs/proc/cmdline.o"], {
      env: { ...process.env, KLP_TREE: tree.dir, KLP_MAKE_VARS: tree.makeVars.join(" ") }, stdio: ["ignore", "ignore", "pipe"], detached: true,
    });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        log += d.toString();
        // Killed, group and all, once the patch is in the tree and the patched build runs.
        if (/applied /.test(log)) { process.kill(-child.pid!, "SIGKILL"); resolve(); }
      });
      child.on("exit", () => reject(new Error(`build-pair.sh ended before it applied the patch:\n${log}`)));
    });
    await new Promise((resolve) => child.on("exit", resolve));
    assert.ok(fs.readFileSync(file).includes("klpkit-killed=1"), "the killed run left its patch applied");
    // As if `patch` itself had been killed between the two files: the second is as it was.
    assert.ok(fs.readFileSync(second).includes("/* killed */"));
    fs.writeFileSync(second, secondBefore);
    // The next run, of no patch at all, first puts the tree back.
    buildPair("-", ["fs/proc/cmdline.o"], "after-killed");
    assert.ok(fs.readFileSync(file).equals(before), "fs/proc/cmdline.c is not what it was before the killed run");
    assert.ok(fs.readFileSync(second).equals(secondBefore), "fs/proc/version.c is not what it was before the killed run");
    for (const left of [".klpkit-applied.patch", ".klpkit-backup"]) assert.ok(!fs.existsSync(path.join(tree.dir, left)), `${left} is left in the tree`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
