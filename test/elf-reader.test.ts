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

/**
 * `file` laid out again with every section's bytes in reverse index order (headers unchanged but
 * for sh_offset): a valid object that gcc and ld never write, for the sparse reader's sorting.
 */
function reversedLayout(file: string, out: string): void {
  const src = fs.readFileSync(file);
  const shoff = Number(src.readBigUInt64LE(40)), shnum = src.readUInt16LE(60);
  const headers = Buffer.from(src.subarray(shoff, shoff + shnum * 64));
  const parts: Buffer[] = [src.subarray(0, 64)];
  let at = 64;
  for (let i = shnum - 1; i >= 1; i--) {
    const h = i * 64, type = headers.readUInt32LE(h + 4), size = Number(headers.readBigUInt64LE(h + 32));
    const align = Math.max(1, Number(headers.readBigUInt64LE(h + 48)));
    if (type === 8 || size === 0) continue; // SHT_NOBITS, empty
    const pad = (align - (at % align)) % align;
    parts.push(Buffer.alloc(pad));
    at += pad;
    const offset = Number(headers.readBigUInt64LE(h + 24));
    parts.push(src.subarray(offset, offset + size));
    headers.writeBigUInt64LE(BigInt(at), h + 24);
    at += size;
  }
  const pad = (8 - (at % 8)) % 8;
  parts.push(Buffer.alloc(pad), headers);
  const whole = Buffer.concat(parts);
  whole.writeBigUInt64LE(BigInt(at + pad), 40);
  fs.writeFileSync(out, whole);
}

test("sections laid out out of index order are read whole: the sparse reader sorts the ranges it reads", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-elf-layout-"));
  try {
    fs.writeFileSync(path.join(dir, "t.c"), SOURCE);
    const r = spawnSync("gcc-12", ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-c", "t.c", "-o", "t.o"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(dir, "t.o"), moved = path.join(dir, "moved.o");
    reversedLayout(file, moved);
    const { buf, unread } = readObjectOrFail(moved);
    assert.ok(unread.size > 0, "the DWARF sections are left unread");
    const sparse = ElfFile.parse(moved, buf, unread), original = ElfFile.parse(file, fs.readFileSync(file));
    const laid = sparse.sections.filter((s) => s.index > 0 && s.size > 0 && s.type !== 8);
    assert.ok(laid[0]!.offset > laid[laid.length - 1]!.offset, "the layout is reversed");
    for (const s of original.sections) assert.ok(sparse.data(s.index).equals(original.data(s.index)), `section ${s.name} reads as in ${file}`);
    assert.deepEqual(sparse.symbols, original.symbols);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
