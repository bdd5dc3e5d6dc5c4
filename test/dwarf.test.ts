// The DWARF reader of klp check on objects gcc-12 and clang-14 write with kernel flags, in DWARF 4
// and 5: every DIE it walks is one readelf walks (same offset, same tag), so each form was
// skipped by its exact size; and the inlined copies of test/dwarf/inline.c's scale() are found
// with the out-of-line function that holds each one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { inlinedCalls, objectDwarf } from "../src/check/inlined.js";
import { declaringDie, signatureDifferences, signatureOf, type Signature } from "../src/check/signature.js";
import { readKernelObject } from "../src/read.js";
import { CC, COMPILERS, KERNEL_CFLAGS } from "./support/cc.js";
import { repoRoot } from "./support/klp.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-dwarf-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `<offset> tag` of every DIE readelf prints (`<1><2e>: Abbrev Number: 3 (DW_TAG_subprogram)`). */
function readelfDies(obj: string): string[] {
  const r = spawnSync("readelf", ["--debug-dump=info", "--wide", obj], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/^\s*<\d+><([0-9a-f]+)>: Abbrev Number: \d+ \((DW_TAG_\w+)\)/gm)].map((m) => `${parseInt(m[1]!, 16)} ${m[2]}`);
}

const TAGS: Record<number, string> = { 0x11: "DW_TAG_compile_unit", 0x1d: "DW_TAG_inlined_subroutine", 0x2e: "DW_TAG_subprogram" };

for (const cc of COMPILERS) {
  for (const version of [4, 5]) {
    test(`${cc} DWARF ${version}: every DIE as readelf sees it; scale() inlined into direct and nested (through twice)`, () => {
      const obj = path.join(tmp, `inline-${cc}-${version}.o`);
      const r = spawnSync(CC[cc], [...KERNEL_CFLAGS[cc], `-gdwarf-${version}`, path.join(repoRoot, "test/dwarf/inline.c"), "-o", obj], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const o = readKernelObject(obj);
      const d = objectDwarf(o);
      const theirs = readelfDies(obj);
      assert.equal(d.info.dies.length, theirs.length);
      // Offsets must agree one by one; tags are compared where the reader has a name for them.
      d.info.dies.forEach((die, i) => {
        const [off, tag] = theirs[i]!.split(" ");
        assert.equal(die.offset, Number(off), `DIE ${i}`);
        if (TAGS[die.tag]) assert.equal(TAGS[die.tag], tag, `DIE ${i} at ${die.offset}`);
      });
      const calls = inlinedCalls(d, "scale", new Set()).map((c) => [c.caller, ...c.via].join(" → ")).sort();
      assert.deepEqual(calls, ["direct", "nested → twice"]);
      assert.deepEqual(inlinedCalls(d, "keep", new Set()), []);
    });
  }
}

/** The canonical form of a signature: what the signature check compares. */
const canonical = (s: Signature) => [s.returns.canonical, ...s.params.map((p) => p.type.canonical), ...(s.varargs ? ["..."] : [])].join(" | ");

for (const cc of COMPILERS) {
  for (const version of [4, 5]) {
    test(`${cc} DWARF ${version}: signatures as canonical types; typedef and const spellings agree, int and long do not`, () => {
      const obj = path.join(tmp, `signatures-${cc}-${version}.o`);
      const r = spawnSync(CC[cc], [...KERNEL_CFLAGS[cc], `-gdwarf-${version}`, path.join(repoRoot, "test/dwarf/signatures.c"), "-o", obj], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const { info } = objectDwarf(readKernelObject(obj));
      const sig = (name: string) => {
        const die = declaringDie(info, name);
        assert.ok(die, `${name} has a defining DIE`);
        return signatureOf(info, die);
      };
      assert.equal(canonical(sig("spelled_typedefs")), "s32 | struct file * | s32 | void * | u64 * | s64 *");
      assert.equal(canonical(sig("kinds")), "bool | enum mode | u8 | s16 | s32 (s32, s8 *) *");
      assert.equal(canonical(sig("variadic")), "void | s8 * | ...");
      assert.deepEqual(signatureDifferences(sig("spelled_typedefs"), sig("spelled_plain")), []);
      assert.deepEqual(signatureDifferences(sig("spelled_typedefs"), sig("takes_long")),
        ["parameter 2 (write) is long [s64] where the original's is int [s32]"].map((d) => cc === "gcc" ? d.replace("long [", "long int [") : d));
      // Count, first parameter, varargs and return type each differ.
      const far = signatureDifferences(sig("variadic"), sig("spelled_plain"));
      assert.equal(far.length, 4, far.join("; "));
      assert.ok(far.includes("the original is variadic (...), the replacement is not"), far.join("; "));
      assert.equal(declaringDie(info, "sink"), undefined, "a declaration describes no code");
    });
  }
}
