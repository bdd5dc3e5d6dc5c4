// Load-time table entries of carried code that name a module's key (src/klp/late-entries.ts): a
// tracepoint's static branch is left out and its site set to the NOP of a branch that is off; a
// plain static key's stays (and is refused by klp build). The object is compiled here, with
// gcc-12 and clang-14, from test/late-entries/module-branches.c.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ElfFile, toModel, writeElf, type OutObject, type OutReloc } from "../src/elf/index.js";
import { leaveOutLateEntries } from "../src/klp/late-entries.js";
import { repoRoot } from "./support/klp.js";
import { COMPILERS, compileFixture } from "./support/cc.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-late-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const NOP5 = "0f1f440000", NOP2 = "6690";

/** The jump table's relocations, and the code site each entry's first field points at. */
function jumpEntries(m: OutObject): { key: string; site: { section: string; at: number }; relocs: OutReloc[] }[] {
  const rela = m.sections.find((s) => s.relocs?.target.name === "__jump_table")!.relocs!;
  const size = 16;
  const count = rela.target.data!.length / size;
  return Array.from({ length: count }, (_, i) => {
    const relocs = rela.entries.filter((r) => Math.floor(r.offset / size) === i);
    const code = relocs.find((r) => r.offset === i * size)!;
    return { key: relocs.find((r) => r.offset === i * size + 8)!.symbol!.name, site: { section: code.symbol!.section!.name, at: code.symbol!.value + code.addend }, relocs };
  });
}

for (const cc of COMPILERS) {
  test(`${cc}: a module's tracepoint branch is left out and turned off; a static key's stays`, () => {
    const obj = path.join(tmp, `branches-${cc}.o`);
    compileFixture(path.join(repoRoot, "test/late-entries/module-branches.c"), obj, cc);
    const model = toModel(ElfFile.parse(obj, fs.readFileSync(obj)));
    // emit.ts gives the carried table its entry size; a bare object has none.
    model.sections.find((s) => s.name === "__jump_table")!.entsize = 16;
    const before = jumpEntries(model);
    assert.deepEqual(before.map((e) => e.key).sort(), ["__tracepoint_demo_event", "demo_feature"]);
    const tp = before.find((e) => e.key === "__tracepoint_demo_event")!;
    const text = model.sections.find((s) => s.name === tp.site.section)!;
    const siteBytes = () => Buffer.from(text.data!).subarray(tp.site.at, tp.site.at + 5).toString("hex");
    // The compiler's jmp to the tracing block (objtool NOPs it later, at the kernel's build).
    assert.match(siteBytes(), /^(e9|eb)/);

    const left = leaveOutLateEntries(model, (name) => name === "__tracepoint_demo_event" || name === "demo_feature");
    assert.deepEqual(left, [{ table: "__jump_table", key: "__tracepoint_demo_event" }]);
    const after = jumpEntries(model);
    assert.deepEqual(after.map((e) => e.key), ["demo_feature"], "the static key's entry stays, moved to the front");
    assert.deepEqual(after[0]!.relocs.map((r) => r.offset), [0, 4, 8]);
    assert.ok(siteBytes().startsWith(NOP5) || siteBytes().startsWith(NOP2), `site holds ${siteBytes()}`);
    // Nothing else of the code moved, and the object still links.
    const out = path.join(tmp, `branches-${cc}-left.o`);
    fs.writeFileSync(out, writeElf(model));
    const d = spawnSync("objdump", ["-dr", out], { encoding: "utf8" });
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /demo_feature_on/);
    assert.equal(leaveOutLateEntries(model, () => false).length, 0, "a vmlinux key is never left out");
  });
}
