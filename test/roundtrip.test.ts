// The ELF reader and writer agree on real kernel objects: every object Debian's config builds
// in fs/proc is read, turned into a model, written, and read again; binutils must see the same
// object (same disassembly with relocations, no warnings) and `ld -r` must accept it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ElfFile, toModel, writeElf, SHT_RELA, SHT_STRTAB, SHT_SYMTAB } from "../src/elf/index.js";
import { runKlp } from "./support/klp.js";
import { buildPair } from "./support/kernel.js";

const FS_PROC = ["array", "base", "bootconfig", "cmdline", "consoles", "cpuinfo", "devices", "fd", "generic", "inode",
  "interrupts", "kcore", "kmsg", "loadavg", "meminfo", "namespaces", "page", "proc_net", "proc_sysctl", "proc_tty",
  "root", "self", "softirqs", "stat", "task_mmu", "thread_self", "uptime", "util", "version", "vmcore"].map((n) => `fs/proc/${n}.o`);

const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
const pairDir = path.join(cache, "pairs", "rebuild-fs-proc");

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Disassembly with relocations, minus the header line that names the file. */
const disassembly = (file: string) => run("objdump", ["-dr", file]).stdout.split("\n").slice(2).join("\n");

const isGenerated = (type: number, name: string) => type === SHT_SYMTAB || (type === SHT_STRTAB && (name === ".strtab" || name === ".shstrtab"));

test("fs/proc objects: a plain rebuild of the kernel directory", () => {
  const pair = buildPair("-", FS_PROC, "rebuild-fs-proc");
  assert.equal(path.dirname(path.dirname(pair.orig[0]!)), path.join(pairDir, "orig", "fs"));
});

test("read → model → write keeps every section, symbol and relocation of fs/proc objects", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-rt-"));
  for (const obj of FS_PROC) {
    const file = path.join(pairDir, "orig", obj);
    const a = ElfFile.parse(file, fs.readFileSync(file));
    const out = path.join(tmp, path.basename(obj));
    fs.writeFileSync(out, writeElf(toModel(a)));
    const b = ElfFile.parse(out, fs.readFileSync(out));

    const kept = (f: ElfFile) => f.sections.filter((s) => s.index && !isGenerated(s.type, s.name));
    const sa = kept(a), sb = kept(b);
    assert.deepEqual(sb.map((s) => [s.name, s.type, s.flags, s.size, s.addralign, s.entsize]), sa.map((s) => [s.name, s.type, s.flags, s.size, s.addralign, s.entsize]), `${obj}: sections`);
    sa.forEach((s, i) => {
      const t = sb[i]!;
      if (s.type === SHT_RELA) {
        const ra = a.readRela(s), rb = b.readRela(t);
        assert.deepEqual(rb.map((r) => [r.offset, r.type, r.addend, b.symbols[r.symbol]!.name]), ra.map((r) => [r.offset, r.type, r.addend, a.symbols[r.symbol]!.name]), `${obj}: ${s.name}`);
        assert.equal(b.sections[t.info]!.name, a.sections[s.info]!.name, `${obj}: ${s.name} target`);
      } else {
        assert.ok(b.data(t.index).equals(a.data(s.index)), `${obj}: contents of ${s.name}`);
      }
    });
    const sym = (f: ElfFile) => f.symbols.map((s) => [s.name, s.value, s.size, s.bind, s.type, s.other, s.shndx > 0 && s.shndx < 0xff00 ? f.sections[s.shndx]!.name : s.shndx]);
    assert.deepEqual(sym(b), sym(a), `${obj}: symbols`);

    assert.equal(disassembly(out), disassembly(file), `${obj}: objdump -dr differs`);
    const re = run("readelf", ["-a", "-W", out]);
    assert.equal(re.status, 0);
    assert.equal(re.stderr, "", `${obj}: readelf warns: ${re.stderr}`);
    const ld = run("ld", ["-r", "-o", path.join(tmp, "linked.o"), out]);
    assert.equal(ld.status, 0, `${obj}: ld -r: ${ld.stderr}`);
    assert.equal(ld.stderr, "", `${obj}: ld -r warns: ${ld.stderr}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("klp diff sees no functional change between two builds of the same fs/proc source", () => {
  for (const obj of FS_PROC) {
    const r = runKlp(["diff", path.join(pairDir, "orig", obj), path.join(pairDir, "patched", obj), "--json"]);
    assert.equal(r.status, 3, `${obj}: exit ${r.status}: ${r.stderr}${r.stdout.slice(0, 400)}`);
  }
});
