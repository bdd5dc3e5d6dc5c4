// The ELF reader and writer agree on real kernel objects: every object Debian's config builds
// in fs/proc is read, turned into a model, written, and read again; binutils must see the same
// object (same disassembly with relocations, no warnings) and `ld -r` must accept it.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runKlp } from "./support/klp.js";
import { buildPair } from "./support/kernel.js";
import { assertRoundTrip } from "./support/roundtrip.js";

const FS_PROC = ["array", "base", "bootconfig", "cmdline", "consoles", "cpuinfo", "devices", "fd", "generic", "inode",
  "interrupts", "kcore", "kmsg", "loadavg", "meminfo", "namespaces", "page", "proc_net", "proc_sysctl", "proc_tty",
  "root", "self", "softirqs", "stat", "task_mmu", "thread_self", "uptime", "util", "version", "vmcore"].map((n) => `fs/proc/${n}.o`);

const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
const pairDir = path.join(cache, "pairs", "rebuild-fs-proc");

test("fs/proc objects: a plain rebuild of the kernel directory", () => {
  const pair = buildPair("-", FS_PROC, "rebuild-fs-proc");
  assert.equal(path.dirname(path.dirname(pair.orig[0]!)), path.join(pairDir, "orig", "fs"));
});

test("read → model → write keeps every section, symbol and relocation of fs/proc objects", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-rt-"));
  for (const obj of FS_PROC) {
    assertRoundTrip(path.join(pairDir, "orig", obj), tmp, { objdump: "objdump", ld: "ld" });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("klp diff sees no functional change between two builds of the same fs/proc source", () => {
  for (const obj of FS_PROC) {
    const r = runKlp(["diff", path.join(pairDir, "orig", obj), path.join(pairDir, "patched", obj), "--json"]);
    assert.equal(r.status, 3, `${obj}: exit ${r.status}: ${r.stderr}${r.stdout.slice(0, 400)}`);
  }
});
