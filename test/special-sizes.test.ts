// The special-section layouts the engine reads without a target (inferred from the objects and
// the arch's known struct shapes) are checked against the target kernel's own DWARF:
// arch/x86/kernel/alternative.o, built from the Debian tree with Debian's config, read with
// pahole (dwarves). The same layouts handed in as a target's `Layouts` must give the same tables.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { x86_64 } from "../src/arch/x86_64.js";
import { ElfFile } from "../src/elf/index.js";
import { KObject } from "../src/object/kobject.js";
import type { Layouts, StructLayout } from "../src/object/layouts.js";
import { tableSpec } from "../src/object/tables.js";
import { repoRoot } from "./support/klp.js";

const OBJ = "arch/x86/kernel/alternative.o";
const cache = process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
const pairDir = path.join(cache, "pairs", "special-sizes");

/** Table → the kernel struct of one entry. */
const STRUCTS: Record<string, string> = {
  "__bug_table": "bug_entry", "__ex_table": "exception_table_entry", "__jump_table": "jump_entry",
  ".altinstructions": "alt_instr", ".parainstructions": "paravirt_patch_site",
  ".static_call_sites": "static_call_site", ".orc_unwind": "orc_entry",
};

function layout(struct: string, file: string): StructLayout {
  const r = spawnSync("pahole", ["-C", struct, file], { encoding: "utf8" });
  assert.equal(r.status, 0, `pahole -C ${struct}: ${r.stderr}`);
  const size = Number(/size: (\d+)/.exec(r.stdout)?.[1]);
  const fields = new Map<string, { offset: number; size: number }>();
  for (const m of r.stdout.matchAll(/(\w+)(?::\d+)?;\s*\/\*\s*(\d+)\s+(\d+)/g)) fields.set(m[1]!, { offset: Number(m[2]), size: Number(m[3]) });
  return { size, fields };
}

test("special-section layouts inferred from a kernel object match the kernel's DWARF", () => {
  const b = spawnSync("bash", [path.join(repoRoot, "scripts/build-pair.sh"), "-", pairDir, OBJ], { stdio: ["ignore", "ignore", "inherit"] });
  assert.equal(b.status, 0, "build-pair.sh failed");
  const file = path.join(pairDir, "orig", OBJ);
  const dwarf: Layouts = new Map(Object.values(STRUCTS).map((s) => [s, layout(s, file)]));
  for (const [struct, l] of dwarf) {
    const known = x86_64.knownLayouts(struct).find((k) => k.size === l.size);
    assert.ok(known, `struct ${struct} is ${l.size} bytes in the kernel: no known x86-64 shape of that size`);
    for (const [name, f] of known.fields) assert.deepEqual(l.fields.get(name), f, `${struct}.${name}`);
  }
  const elf = ElfFile.parse(file, fs.readFileSync(file));
  const inferred = new KObject(elf, x86_64);
  const given = new KObject(elf, x86_64, { layouts: dwarf });
  const seen: string[] = [];
  for (const s of elf.sections) {
    const spec = tableSpec(s.name);
    if (!spec || s.size === 0) continue;
    const a = inferred.table(s), b2 = given.table(s);
    assert.deepEqual({ ...a, spec: undefined }, { ...b2, spec: undefined }, `${s.name}: inferred and target layouts differ`);
    const struct = STRUCTS[s.name];
    if (struct) assert.equal(a.entrySize, dwarf.get(struct)!.size, `${s.name}: entry size`);
    if (spec.parallel) {
      const par = elf.sections.find((x) => x.name === spec.parallel!.section)!;
      assert.equal(inferred.parallelEntrySize(a, par), dwarf.get(spec.parallel.struct)!.size, `${par.name}: entry size`);
    }
    seen.push(s.name);
  }
  for (const t of ["__bug_table", ".altinstructions", "__jump_table", ".orc_unwind_ip"]) assert.ok(seen.includes(t), `${OBJ} has no ${t}`);
});
