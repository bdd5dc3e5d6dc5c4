// Special-table layouts handed to the engine by a target (analyzeDiff's `layouts`) and inferred
// without one (bare `klp diff`): the same answer where both apply, and exit 2 naming the section
// where the layouts and the objects disagree or nothing tells the entry size. The objects are the
// alt-instr-13 and alt-instr-14 fixtures (13-byte alt_instr without sh_entsize, 14-byte with it),
// and a jump table whose 20-byte entries no x86-64 kernel ever had, differing only in an entry's
// last 4 bytes (so the verdict has to read the table).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { analyzeDiff } from "../src/diff.js";
import { KlpError } from "../src/errors.js";
import { structLayout, type Layouts } from "../src/object/layouts.js";
import { compileFixture } from "./support/cc.js";
import { repoRoot, runKlp } from "./support/klp.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-layouts-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The alt_instr of Linux 4.1–5.12 (padlen), of 6.1 and of 6.3+, as pahole reports them. */
const ALT_13 = structLayout(13, [["instr_offset", 0, 4], ["repl_offset", 4, 4], ["cpuid", 8, 2], ["instrlen", 10, 1], ["replacementlen", 11, 1], ["padlen", 12, 1]]);
const ALT_12 = structLayout(12, [["instr_offset", 0, 4], ["repl_offset", 4, 4], ["cpuid", 8, 2], ["instrlen", 10, 1], ["replacementlen", 11, 1]]);
const ALT_14 = structLayout(14, [["instr_offset", 0, 4], ["repl_offset", 4, 4], ["ft_flags", 8, 4], ["instrlen", 12, 1], ["replacementlen", 13, 1]]);

const pairs: Record<string, { orig: string; patched: string }> = {};

function pair(name: string, dir: string) {
  const orig = path.join(tmp, `${name}-orig.o`), patched = path.join(tmp, `${name}-patched.o`);
  assert.equal(compileFixture(path.join(dir, "orig.c"), orig, "gcc"), "");
  assert.equal(compileFixture(path.join(dir, "patched.c"), patched, "gcc"), "");
  pairs[name] = { orig, patched };
}

before(() => {
  for (const n of [13, 14]) pair(`alt${n}`, path.join(repoRoot, `test/fixtures/alt-instr-${n}`));
  // A jump table of 20-byte entries: relative code and target, an 8-byte key, 4 bytes more.
  const odd = path.join(tmp, "odd-jump");
  fs.mkdirSync(odd);
  const src = (v: number) => `#include <kernel-lite.h>
extern int flag;
int odd_branch(int x)
{
	asm goto("1: jmp %l[yes]\\n\\t.pushsection __jump_table, \\"aw\\"\\n\\t.long 1b - .\\n\\t"
		 ".long %l[yes] - .\\n\\t.quad flag - .\\n\\t.long ${v}\\n\\t.popsection" : : : : yes);
	return x;
yes:
	return x + 1;
}
`;
  fs.writeFileSync(path.join(odd, "orig.c"), src(0));
  fs.writeFileSync(path.join(odd, "patched.c"), src(1));
  pair("odd", odd);
});

const changedBy = (name: string, layouts?: Layouts) => {
  const a = analyzeDiff(pairs[name]!.orig, pairs[name]!.patched, layouts ? { layouts } : {});
  return a.sel.changed.map((c) => c.name).sort();
};

function assertBadInput(fn: () => unknown, why: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KlpError, `not a KlpError: ${String(e)}`);
    assert.equal(e.code, 2);
    assert.match(e.message, why);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

test("13-byte alt_instr: inferred from the relocations, or given by the target, the same verdict", () => {
  assert.deepEqual(changedBy("alt13"), ["stamp_flush", "stamp_read"]);
  assert.deepEqual(changedBy("alt13", new Map([["alt_instr", ALT_13]])), ["stamp_flush", "stamp_read"]);
});

test("14-byte alt_instr with sh_entsize: inferred and given agree", () => {
  assert.deepEqual(changedBy("alt14"), ["stamp_flush", "stamp_read"]);
  assert.deepEqual(changedBy("alt14", new Map([["alt_instr", ALT_14]])), ["stamp_flush", "stamp_read"]);
});

test("a target layout that does not fit the object is exit 2 naming the section", () => {
  assertBadInput(() => changedBy("alt13", new Map([["alt_instr", ALT_12]])), /alt13-orig\.o: section \.altinstructions: .*12-byte struct alt_instr/);
  assertBadInput(() => changedBy("alt14", new Map([["alt_instr", ALT_12]])), /section \.altinstructions: sh_entsize 14, but the target's struct alt_instr is 12 bytes/);
});

test("a target without the struct is exit 2 naming the section", () => {
  assertBadInput(() => changedBy("alt13", new Map([["bug_entry", structLayout(12, [["bug_addr_disp", 0, 4], ["file_disp", 4, 4], ["line", 8, 2], ["flags", 10, 2]])]])),
    /section \.altinstructions: the target kernel has no struct alt_instr/);
});

test("entries of no known shape: exit 2 naming the section, from analyzeDiff and from klp diff", () => {
  assertBadInput(() => changedBy("odd"), /odd-orig\.o: section __jump_table: .*fit no known layout of struct jump_entry \(16, 24 bytes\)/);
  const out = path.join(tmp, "odd-OUT.o");
  const r = runKlp(["diff", pairs["odd"]!.orig, pairs["odd"]!.patched, "-o", out]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^klp: [^\n]*section __jump_table[^\n]*\n$/);
  assert.equal(r.stdout, "");
  assert.ok(!fs.existsSync(out));
  const given = new Map([["jump_entry", structLayout(20, [["code", 0, 4], ["target", 4, 4], ["key", 8, 8]])]]);
  assert.deepEqual(changedBy("odd", given), ["odd_branch"], "with the target's 20-byte layout the table is read");
});
