// An AArch64 relocation fills a bit-field inside one 4-byte instruction, and code compare masks
// only those bits: body-change/orig.c built for aarch64, then one instruction of compute_quota
// edited in the object. Bits the linker writes (the imm12 of `ldr w1, [x2, #:lo12:scale]`, the
// immhi:immlo of `adrp x2, scale`) may differ freely; the registers beside them may not.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { compileFixture } from "./support/cc.js";
import * as E from "./support/elf64.js";
import { diffJson, repoRoot } from "./support/klp.js";
import { relocations, run } from "./support/objects.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-a64-fields-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let orig = "";

before(() => {
  orig = path.join(tmp, "orig.o");
  assert.equal(compileFixture(path.join(repoRoot, "test/fixtures/body-change/orig.c"), orig, "gcc", undefined, "aarch64"), "");
});

/** File offset of the instruction compute_quota's relocation of `type` patches. */
function instructionAt(type: string): number {
  const buf = fs.readFileSync(orig);
  const text = E.sections(buf).find((s) => s.name === ".text.compute_quota");
  assert.ok(text, "no .text.compute_quota");
  const lines = run("readelf", ["-rW", orig]).stdout.split("\n").filter((l) => l.includes(type));
  const offsets = [...(relocations(orig).get(text.index) ?? [])].map((r) => r.offset);
  const at = offsets.find((o) => lines.some((l) => parseInt(l.split(/\s+/)[0]!, 16) === o));
  assert.ok(at !== undefined, `compute_quota has no ${type} relocation`);
  return text.offset + at;
}

/** A copy of ORIG with the instruction word at `fileOffset` XORed with `bits`; klp diff's verdict. */
function diffEdited(name: string, fileOffset: number, bits: number) {
  const buf = Buffer.from(fs.readFileSync(orig));
  buf.writeUInt32LE((buf.readUInt32LE(fileOffset) ^ bits) >>> 0, fileOffset);
  const edited = path.join(tmp, `${name}.o`);
  fs.writeFileSync(edited, buf);
  return diffJson(orig, edited);
}

test("imm12 of an LDST32_ABS_LO12_NC load is the linker's: no change", () => {
  const { run: r } = diffEdited("imm12", instructionAt("R_AARCH64_LDST32_ABS_LO12_NC"), 0x7 << 10);
  assert.equal(r.status, 3, r.stdout + r.stderr);
});

test("the destination register of that load is the compiler's: compute_quota changed", () => {
  const { run: r, json } = diffEdited("rt", instructionAt("R_AARCH64_LDST32_ABS_LO12_NC"), 0x3);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(json?.changed, ["compute_quota"]);
});

test("immhi:immlo of an ADRP is the linker's; its register is not", () => {
  const at = instructionAt("R_AARCH64_ADR_PREL_PG_HI21");
  assert.equal(diffEdited("adrp-imm", at, (0x5 << 5) | (0x1 << 29)).run.status, 3);
  const { run: r, json } = diffEdited("adrp-rd", at, 0x1);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(json?.changed, ["compute_quota"]);
});
