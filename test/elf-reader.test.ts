// The ELF reader on both byte orders. Section headers and symbols are read as 32-bit words
// (elf/bytes.ts Words): a view over a little-endian object, a swapped copy of a big-endian one.
// The same C compiled for aarch64 big- and little-endian must read the same, and as readelf says.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ElfFile } from "../src/elf/reader.js";
import { readObjectOrFail } from "../src/read.js";

const CC = "aarch64-linux-gnu-gcc-12";
const SOURCE = `int counter;
static int helper(int x) { return x * 3 + counter; }
int visible(int y) { return helper(y) + 1; }
const char *name(void) { return "both orders"; }
`;

function compile(dir: string, endian: "big" | "little"): string {
  const out = path.join(dir, `${endian}.o`);
  const r = spawnSync(CC, [`-m${endian}-endian`, "-O2", "-ffunction-sections", "-fdata-sections", "-c", "t.c", "-o", out], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, `${CC} -m${endian}-endian: ${r.stderr}`);
  return out;
}

/** What a byte order cannot change: every section header and symbol, by value. */
function shape(file: string) {
  const { buf, unread } = readObjectOrFail(file);
  const elf = ElfFile.parse(file, buf, unread);
  const sections = elf.sections.map(({ name, type, flags, size, link, info, addralign, entsize }) => ({ name, type, flags, size, link, info, addralign, entsize }));
  return { little: elf.order.little, sections, symbols: elf.symbols };
}

test("a big-endian object reads as its little-endian twin, and as readelf reads it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-elf-order-"));
  try {
    fs.writeFileSync(path.join(dir, "t.c"), SOURCE);
    const big = shape(compile(dir, "big")), little = shape(compile(dir, "little"));
    assert.equal(big.little, false);
    assert.equal(little.little, true);
    assert.deepEqual(big.sections, little.sections);
    assert.deepEqual(big.symbols, little.symbols);
    const readelf = spawnSync("readelf", ["-sW", path.join(dir, "big.o")], { encoding: "utf8" }).stdout;
    for (const name of ["visible", "name", "counter"]) {
      const sym = big.symbols.find((s) => s.name === name)!;
      const row = readelf.split("\n").find((l) => l.trim().endsWith(` ${name}`))!.trim().split(/\s+/);
      assert.deepEqual([parseInt(row[1]!, 16), Number(row[2])], [sym.value, sym.size], `${name}: readelf says ${row.join(" ")}`);
    }
    assert.ok(big.sections.some((s) => s.name === ".text.visible" && s.size > 0));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
