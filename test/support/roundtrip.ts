// The ELF round trip: an object read, turned into a model and written again must be the same
// object to binutils (same sections, symbols, relocations and disassembly, no warnings), and
// `ld -r` must accept it. roundtrip.test.ts runs it on x86-64 objects, arm64.test.ts on arm64's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ElfFile, toModel, writeElf, SHT_RELA, SHT_STRTAB, SHT_SYMTAB } from "../../src/elf/index.js";

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Disassembly with relocations, minus the header line that names the file. */
const disassembly = (objdump: string, file: string) => run(objdump, ["-dr", file]).stdout.split("\n").slice(2).join("\n");

const isGenerated = (type: number, name: string) => type === SHT_SYMTAB || (type === SHT_STRTAB && (name === ".strtab" || name === ".shstrtab"));

/** `file` survives read → model → write (into `tmp`), judged with the architecture's binutils. */
export function assertRoundTrip(file: string, tmp: string, tools: { readonly objdump: string; readonly ld: string }): void {
  const a = ElfFile.parse(file, fs.readFileSync(file));
  const out = path.join(tmp, path.basename(file));
  fs.writeFileSync(out, writeElf(toModel(a)));
  const b = ElfFile.parse(out, fs.readFileSync(out));

  const kept = (f: ElfFile) => f.sections.filter((s) => s.index && !isGenerated(s.type, s.name));
  const sa = kept(a), sb = kept(b);
  assert.deepEqual(sb.map((s) => [s.name, s.type, s.flags, s.size, s.addralign, s.entsize]), sa.map((s) => [s.name, s.type, s.flags, s.size, s.addralign, s.entsize]), `${file}: sections`);
  sa.forEach((s, i) => {
    const t = sb[i]!;
    if (s.type === SHT_RELA) {
      const ra = a.readRela(s), rb = b.readRela(t);
      assert.deepEqual(rb.map((r) => [r.offset, r.type, r.addend, b.symbols[r.symbol]!.name]), ra.map((r) => [r.offset, r.type, r.addend, a.symbols[r.symbol]!.name]), `${file}: ${s.name}`);
      assert.equal(b.sections[t.info]!.name, a.sections[s.info]!.name, `${file}: ${s.name} target`);
    } else {
      assert.ok(b.data(t.index).equals(a.data(s.index)), `${file}: contents of ${s.name}`);
    }
  });
  const sym = (f: ElfFile) => f.symbols.map((s) => [s.name, s.value, s.size, s.bind, s.type, s.other, s.shndx > 0 && s.shndx < 0xff00 ? f.sections[s.shndx]!.name : s.shndx]);
  assert.deepEqual(sym(b), sym(a), `${file}: symbols`);

  assert.equal(disassembly(tools.objdump, out), disassembly(tools.objdump, file), `${file}: objdump -dr differs`);
  const re = run("readelf", ["-a", "-W", out]);
  assert.equal(re.status, 0);
  assert.equal(re.stderr, "", `${file}: readelf warns: ${re.stderr}`);
  const ld = run(tools.ld, ["-r", "-o", path.join(tmp, "linked.o"), out]);
  assert.equal(ld.status, 0, `${file}: ld -r: ${ld.stderr}`);
  assert.equal(ld.stderr, "", `${file}: ld -r warns: ${ld.stderr}`);
}
