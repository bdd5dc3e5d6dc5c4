// The special-section entry sizes and field offsets klpkit relies on (object/special.ts) are
// checked against the target kernel's own DWARF: arch/x86/kernel/alternative.o, built from the
// Debian tree with Debian's config, read with pahole (dwarves).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { SPECIAL_TABLES_6_1_X86 } from "../src/object/special.js";
import { repoRoot } from "./support/klp.js";

const OBJ = "arch/x86/kernel/alternative.o";
const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
const pairDir = path.join(cache, "pairs", "special-sizes");

/** Table → the kernel struct of one entry, and fields whose offsets the engine hard-codes. */
const STRUCTS: Record<string, { struct: string; fields: Record<string, number> }> = {
  "__bug_table": { struct: "bug_entry", fields: { line: 8 } },
  "__ex_table": { struct: "exception_table_entry", fields: {} },
  "__jump_table": { struct: "jump_entry", fields: { key: 8 } },
  ".altinstructions": { struct: "alt_instr", fields: { repl_offset: 4, replacementlen: 11 } },
  ".parainstructions": { struct: "paravirt_patch_site", fields: {} },
  ".static_call_sites": { struct: "static_call_site", fields: { key: 4 } },
  ".orc_unwind": { struct: "orc_entry", fields: {} },
};

function layout(struct: string, file: string): { size: number; offsets: Map<string, number> } {
  const r = spawnSync("pahole", ["-C", struct, file], { encoding: "utf8" });
  assert.equal(r.status, 0, `pahole -C ${struct}: ${r.stderr}`);
  const size = Number(/size: (\d+)/.exec(r.stdout)?.[1]);
  const offsets = new Map<string, number>();
  for (const m of r.stdout.matchAll(/(\w+)(?::\d+)?;\s*\/\*\s*(\d+)/g)) offsets.set(m[1]!, Number(m[2]));
  return { size, offsets };
}

test("special-section entry layouts match the kernel's DWARF", () => {
  const b = spawnSync("bash", [path.join(repoRoot, "scripts/build-pair.sh"), "-", pairDir, OBJ], { stdio: ["ignore", "ignore", "inherit"] });
  assert.equal(b.status, 0, "build-pair.sh failed");
  const file = path.join(pairDir, "orig", OBJ);
  for (const [table, { struct, fields }] of Object.entries(STRUCTS)) {
    const t = SPECIAL_TABLES_6_1_X86.find((x) => x.name === table || x.parallel?.name === table);
    assert.ok(t, `${table} is in the table`);
    const want = t.name === table ? t.entrySize : t.parallel!.entrySize;
    const got = layout(struct, file);
    assert.equal(got.size, want, `struct ${struct} (${table}) is ${got.size} bytes in the kernel, klpkit says ${want}`);
    for (const [field, offset] of Object.entries(fields)) assert.equal(got.offsets.get(field), offset, `${struct}.${field}`);
  }
  const bug = SPECIAL_TABLES_6_1_X86.find((x) => x.name === "__bug_table")!;
  assert.deepEqual(bug.ignore, [[8, 2]], "bug_entry.line is the ignored range");
  const alt = SPECIAL_TABLES_6_1_X86.find((x) => x.name === ".altinstructions")!;
  assert.deepEqual(alt.blob, { field: 4, lengthAt: 11 });
});
