// Clang's promoted statics: with ThinLTO a static function another module needs becomes a global
// `helper.llvm.<hash>`, and the hash is of its module's bitcode, so a fix in that file renames it
// (helper.llvm.10411051859455519737 → helper.llvm.5862704032459426239). klp diff must see one
// changed function under both names, not a removed one and a new one. Built by clang-19 with
// kernel flags from test/lto/*.c, linked with `ld.lld -r` (LTO happens at that link).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { KERNEL_CFLAGS } from "./support/cc.js";
import { diffJson, repoRoot } from "./support/klp.js";

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
}

/** helper.c (the given version) and caller.c, ThinLTO-compiled and linked into one object. */
function ltoObject(dir: string, helperSource: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(repoRoot, "test/lto", helperSource), path.join(dir, "helper.c"));
  fs.copyFileSync(path.join(repoRoot, "test/lto/caller.c"), path.join(dir, "caller.c"));
  run("clang-19", [...KERNEL_CFLAGS.clang, "-flto=thin", "helper.c", "caller.c"], dir);
  run("ld.lld-19", ["-r", "helper.o", "caller.o", "-o", "linked.o"], dir);
  return path.join(dir, "linked.o");
}

const promoted = (obj: string): string[] => {
  const r = spawnSync("nm", [obj], { encoding: "utf8" });
  return (r.stdout ?? "").split("\n").map((l) => l.split(" ").pop() ?? "").filter((n) => /^helper\.llvm\.\d+$/.test(n));
};

test("a fix to a ThinLTO-promoted static is one changed function under its new .llvm.<hash> name", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-lto-"));
  try {
    const orig = ltoObject(path.join(tmp, "orig"), "helper-orig.c");
    const patched = ltoObject(path.join(tmp, "patched"), "helper-patched.c");
    const [before] = promoted(orig), [after] = promoted(patched);
    assert.ok(before && after && before !== after, `the promoted name changes with the fix: ${before} → ${after}`);
    const { run: r, json } = diffJson(orig, patched, ["-o", path.join(tmp, "out.o")]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.deepEqual(json?.changed, [after]);
    assert.deepEqual(json?.new, []);
    assert.deepEqual(json?.["removed"] ?? [], []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
