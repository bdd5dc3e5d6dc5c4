// Which readers of a patched header can compile to other code (src/kbuild/translation-unit.ts),
// told from their preprocessed text alone. Each reader in test/header-readers/ says in a comment
// which of its declarations the header change reaches, or nothing. Every verdict is checked
// against the compiler: a reader said to be unreached is compiled against both headers and
// `klp diff` must find no change; where the change reaches code that compiles differently
// (helper()'s new body, struct inner's new member), klp diff must find it, to carry or refuse.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { codeMayDiffer } from "../src/kbuild/translation-unit.js";
import { CC, compileFixture, COMPILERS } from "./support/cc.js";
import { repoRoot, runKlp } from "./support/klp.js";

const dir = path.join(repoRoot, "test/header-readers");
const readers = fs.readdirSync(dir).filter((f) => f.endsWith(".c")).sort();
/** Readers whose compiled code the change must alter (not only may). */
const MUST_DIFFER = new Set(["flag.c", "wrapper.c", "outer.c", "table.c", "packed.c"]);

function preprocess(cc: string, src: string, headers: string): string {
  const r = spawnSync(cc, ["-E", "-O2", "-I", path.join(dir, headers), src], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cc} -E ${src}: ${r.stderr}`);
  return r.stdout;
}

for (const compiler of COMPILERS) {
  test(`${compiler}: a header patch reaches the code of the readers that use what it changed, and only them`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-readers-"));
    try {
      for (const reader of readers) {
        const src = path.join(dir, reader);
        const expected = /reaches: (\S+)/.exec(fs.readFileSync(src, "utf8"))?.[1];
        assert.ok(expected, `${reader} says what the change reaches`);
        const why = codeMayDiffer(preprocess(CC[compiler], src, "orig"), preprocess(CC[compiler], src, "patched"));
        if (expected === "nothing") assert.equal(why, undefined, `${reader}: ${why}`);
        else assert.ok(why?.includes(expected), `${reader}: expected ${expected} to be reached, got ${why ?? "nothing"}`);

        const objs = ["orig", "patched"].map((h) => {
          const o = path.join(tmp, `${reader}.${h}.o`);
          compileFixture(src, o, compiler, { cflags: ["-I", path.join(dir, h)] });
          return o;
        });
        const diff = runKlp(["diff", ...objs]);
        if (why === undefined) assert.equal(diff.status, 3, `${reader} is unreached, so klp diff must find no change: ${diff.stdout}${diff.stderr}`);
        // Found as a change to carry (0), or to refuse (1: table[] grew).
        if (MUST_DIFFER.has(reader)) assert.ok(diff.status === 0 || diff.status === 1, `${reader}: klp diff must find the change: ${diff.stdout}${diff.stderr}`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

// What the reading must not mistake: a pragma inside a function, a function pointer declared in
// parentheses, a forward declaration added, a struct with attributes before its name.
test("declarations the screening reads exactly", () => {
  // A forward declaration added changes no code.
  assert.equal(codeMayDiffer("int f(void) { return 1; }\n", "struct sock;\nint f(void) { return 1; }\n"), undefined);
  // A function pointer's name is in parentheses: changing its type reaches whoever calls it.
  assert.match(codeMayDiffer("extern int (*hook)(int);\nint f(void) { return hook(1); }\n",
    "extern long (*hook)(int);\nint f(void) { return hook(1); }\n") ?? "", /f uses hook/);
  // A struct with an attribute before its tag: a member of it named like a changed function is no use of it.
  assert.equal(codeMayDiffer(
    "static inline int g(void) { return 1; }\nstruct __attribute__((packed)) s { int g; };\nint f(struct s *p) { return p->g; }\n",
    "static inline int g(void) { return 2; }\nstruct __attribute__((packed)) s { int g; };\nint f(struct s *p) { return p->g; }\n"), undefined);
  // An unnamed member of a typedef'd struct (-fms-extensions) is a use of that type.
  assert.match(codeMayDiffer(
    "typedef struct { int a; } in_t;\nstruct out { in_t; int b; };\nint f(struct out *p) { return p->b; }\n",
    "typedef struct { long a; } in_t;\nstruct out { in_t; int b; };\nint f(struct out *p) { return p->b; }\n") ?? "", /f uses struct out/);
  // A pragma inside a function (from _Pragma) is part of it, not a top-level one.
  assert.match(codeMayDiffer("int f(void) {\n#pragma GCC unroll 2\n return 1; }\n", "int f(void) {\n#pragma GCC unroll 4\n return 1; }\n") ?? "", /f changed/);
  // An inline marked used is compiled whether or not anything calls it.
  assert.match(codeMayDiffer("static inline __attribute__((__used__)) int k(void) { return 1; }\n",
    "static inline __attribute__((__used__)) int k(void) { return 2; }\n") ?? "", /k changed/);
  // Line markers alone never reach code.
  assert.equal(codeMayDiffer('# 1 "a.h"\nint x;\n', '# 7 "a.h"\nint x;\n'), undefined);
});
