// `klp diff` on real arm64 kernel objects: Debian's 6.12 source with Debian's arm64 config,
// cross-built with Debian's aarch64-linux-gnu-gcc-12 (test/support/arm64-kernel.ts prepares
// the tree once and builds each object before and after a patch). The patches are the x86-64
// suites' own (test/kernel/patches, test/e2e, test/e2e-6.12) that apply to 6.12 and touch no
// x86 code; the expected functions were read off the arm64 objects (`aarch64-linux-gnu-objdump
// -dr` of both builds), not taken from the tool. Each OUT.o must hold exactly the changed and
// new functions, PATCHED's special-table entries of those functions (read with the layouts
// pahole finds in the tree), and survive the ELF round trip with aarch64 binutils.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { aarch64 } from "../src/arch/aarch64.js";
import { runDiff } from "../src/diff.js";
import type { Layouts } from "../src/object/layouts.js";
import { probeLayouts } from "../src/target/layouts.js";
import { ARM64_MAKE_VARS, arm64Tree, buildArm64Pair } from "./support/arm64-kernel.js";
import { BINUTILS } from "./support/cc.js";
import { diffJson, repoRoot } from "./support/klp.js";
import * as E from "./support/elf64.js";
import { parentOf, relocations, specialEntries, symbols } from "./support/objects.js";
import { assertRoundTrip } from "./support/roundtrip.js";

interface Arm64Case {
  /** Relative to test/. */
  readonly patch: string;
  readonly object: string;
  readonly exit: number;
  readonly changed: readonly string[];
  readonly new: readonly string[];
  readonly refused: readonly string[];
  /** Special tables OUT.o must hold (the carried functions have entries there). */
  readonly carries?: readonly string[];
  readonly why: string;
}

const CASES: readonly Arm64Case[] = [
  { patch: "kernel/patches/proc-cmdline.patch", object: "fs/proc/cmdline.o", exit: 0, changed: ["cmdline_proc_show"], new: [], refused: [],
    why: "cmdline_proc_show grows (72 -> 80 bytes: one more seq_puts); nothing else in cmdline.o differs." },
  { patch: "kernel/patches/devices-dyndbg.patch", object: "fs/proc/devices.o", exit: 0, changed: ["devinfo_show"], new: [], refused: [],
    why: "devinfo_show gains a pr_debug (168 -> 208 bytes) whose _ddebug descriptor is a fresh copy; its jump label is carried in __jump_table.", carries: ["__jump_table"] },
  { patch: "kernel/patches/loadavg-new-function.patch", object: "fs/proc/loadavg.o", exit: 0, changed: ["loadavg_proc_show"], new: ["loadavg_klp_note"], refused: [],
    why: "a new noinline helper loadavg_klp_note, called from loadavg_proc_show (280 -> 292 bytes)." },
  { patch: "kernel/patches/meminfo-inlined-helper.patch", object: "fs/proc/meminfo.o", exit: 0, changed: ["meminfo_proc_show"], new: [], refused: [],
    why: "the patch changes show_val_kb, which gcc inlines into meminfo_proc_show (same size, instructions differ at +0xd4); no other caller." },
  { patch: "kernel/patches/uptime-warn-once.patch", object: "fs/proc/uptime.o", exit: 0, changed: ["uptime_proc_show"], new: [], refused: [],
    why: "a pr_warn_once in uptime_proc_show (380 -> 420 bytes); its once flag in .data..once is a fresh copy." },
  { patch: "kernel/patches/proc-root-isra-clone.patch", object: "fs/proc/root.o", exit: 0, changed: ["proc_apply_options.isra.0"], new: [], refused: [],
    why: "the change lands in gcc's IPA-SRA clone proc_apply_options.isra.0 (108 -> 120 bytes); proc_fill_super and proc_init_fs_context, whose ALTERNATIVE_CB entries name alt_cb_patch_nops, are identical." },
  { patch: "kernel/patches/readdir-ex-table.patch", object: "fs/readdir.o", exit: 0, changed: ["filldir64"], new: [], refused: [],
    why: "filldir64 (504 -> 556 bytes): its unsafe_put_user stores (sttr) carry __ex_table entries, which travel with it.", carries: ["__ex_table"] },
  { patch: "kernel/patches/vmcore-cold-only.patch", object: "fs/proc/vmcore.o", exit: 0, changed: ["register_vmcore_cb"], new: [], refused: [],
    why: "only the warning text of register_vmcore_cb's unlikely path changes: same code, the string it loads (adrp/add of .rodata.str) differs." },
  { patch: "kernel/patches/pipe-data-init.patch", object: "fs/pipe.o", exit: 1, changed: [], new: [], refused: ["pipe_max_size"],
    why: "pipe_max_size's initialiser changes: existing data, refused." },
  { patch: "kernel/patches/exec-tracepoint.patch", object: "fs/exec.o", exit: 0, changed: ["__set_task_comm"], new: [], refused: [],
    why: "__set_task_comm (336 -> 384 bytes): its tracepoint's static key check is a jump label, carried in __jump_table, and its ALTERNATIVE_CB entry (alt_cb_patch_nops, exported) in .altinstructions.", carries: ["__jump_table", ".altinstructions"] },
  { patch: "e2e/warn-bug-table.patch", object: "fs/proc/version.o", exit: 0, changed: ["version_proc_show"], new: [], refused: [],
    why: "a WARN_ONCE in version_proc_show (68 -> 120 bytes): `brk #0x800` and its __bug_table entry travel with it.", carries: ["__bug_table"] },
  { patch: "e2e-6.12/mm-overcommit-ratio-neg.patch", object: "mm/util.o", exit: 0, changed: ["overcommit_ratio_handler"], new: [], refused: [],
    why: "overcommit_ratio_handler rejects negative values (68 -> 108 bytes)." },
  { patch: "e2e-6.12/sympos.patch", object: "fs/proc/fd.o", exit: 0, changed: ["seq_show"], new: [], refused: [],
    why: "fs/proc/fd.c's seq_show (680 -> 700 bytes), one of two seq_show in vmlinux; its WARN_ON and ALTERNATIVE_CB entries travel with it.", carries: ["__bug_table", ".altinstructions"] },
  { patch: "e2e-6.12/fs-core-pattern-unsafe.patch", object: "fs/coredump.o", exit: 0, changed: ["proc_dostring_coredump"], new: [], refused: [],
    why: "proc_dostring_coredump restores the old core_pattern on an unsafe one (64 -> 344 bytes)." },
  { patch: "e2e-6.12/fs-lease-break-refused.patch", object: "fs/locks.o", exit: 1, changed: [], new: [], refused: ["locks_sysctls"],
    why: "the sysctl table locks_sysctls gains extra1 (6 relocations, now 7): changed initialiser of existing data, refused." },
  { patch: "e2e-6.12/module.patch", object: "fs/binfmt_misc.o", exit: 0, changed: ["bm_status_read"], new: [], refused: [],
    why: "a module function: bm_status_read's string changes (\"disabled\\n\" -> \"disabled (klpkit)\\n\"), same code." },
  { patch: "e2e-6.12/module-tracepoint.patch", object: "fs/ext4/fsync.o", exit: 0, changed: ["ext4_sync_file"], new: [], refused: [],
    why: "ext4_sync_file gains a tracepoint call whose key is ext4's own: the diff carries its __jump_table entry (klp build refuses it once the key resolves to a module).", carries: ["__jump_table"] },
  { patch: "e2e-6.12/net-ipv6-disable.patch", object: "net/ipv6/addrconf.o", exit: 0, changed: ["addrconf_sysctl_disable"], new: [], refused: [],
    why: "addrconf_sysctl_disable parses with proc_dointvec_minmax (416 -> 432 bytes)." },
  { patch: "arm64/pipe-write-alternative.patch", object: "fs/pipe.o", exit: 0, changed: ["pipe_write"], new: [], refused: [],
    why: "pipe_write (1468 -> 1464 bytes) has six ALTERNATIVE entries whose replacement code the assembler put in `.subsection 1` of .text.pipe_write, 60 bytes behind the function: OUT.o must carry them in the function's section.", carries: [".altinstructions"] },
];

/** The special tables of an arm64 6.12 object whose entries travel with their function. */
const TABLES: Record<string, string> = {
  __bug_table: "bug_entry", __ex_table: "exception_table_entry", __jump_table: "jump_entry", ".altinstructions": "alt_instr",
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), "klp-arm64-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const sorted = (xs: readonly string[]) => [...xs].sort();

/** Every relocation of `file` against a defined symbol lands inside that symbol's section. */
function assertRelocationsInside(file: string): void {
  const secs = E.sections(fs.readFileSync(file));
  const size = new Map(secs.map((x) => [x.name, x.size] as const));
  const syms = symbols(file);
  for (const [target, list] of relocations(file)) {
    for (const r of list) {
      const sym = syms.find((x) => x.name === r.target && x.section !== "UND");
      if (!sym) continue;
      const at = (sym.type === "SECTION" ? 0 : sym.value) + r.addend;
      assert.ok(at >= 0 && at <= size.get(sym.section)!, `${secs[target]?.name} +${r.offset}: ${r.target}${r.addend >= 0 ? "+" : ""}${r.addend} lies outside ${sym.section}`);
    }
  }
}

let layouts: Layouts | undefined;
function treeLayouts(): Layouts {
  const tree = arm64Tree();
  layouts ??= probeLayouts(tree.dir, ARM64_MAKE_VARS, path.join(tree.dir, ".klpkit-layouts.json"), fs.readFileSync(path.join(tree.dir, ".klpkit-ready"), "latin1"));
  return layouts;
}

test("the arm64 tree's special-section layouts (pahole) are shapes aarch64.knownLayouts() knows", () => {
  const l = treeLayouts();
  for (const struct of Object.values(TABLES)) {
    const probed = l.get(struct);
    assert.ok(probed, `the arm64 tree has no struct ${struct}`);
    const known = aarch64.knownLayouts(struct).find((k) => k.size === probed.size);
    assert.ok(known, `struct ${struct} is ${probed.size} bytes in the tree; aarch64-structs.ts knows ${aarch64.knownLayouts(struct).map((k) => k.size).join(", ")}`);
    for (const [name, f] of known.fields) assert.deepEqual(probed.fields.get(name), f, `struct ${struct} field ${name}`);
  }
  // arm64 has no ORC unwinder and no paravirt patch sites.
  assert.equal(l.get("orc_entry"), undefined);
  assert.equal(l.get("paravirt_patch_site"), undefined);
});

for (const c of CASES) {
  describe(`${path.basename(c.patch, ".patch")} (${c.object})`, () => {
    test(`klp diff: ${c.exit === 0 ? [...c.changed, ...c.new].join(", ") : `exit ${c.exit}`}`, () => {
      const pair = buildArm64Pair(path.join(repoRoot, "test", c.patch), [c.object]);
      const orig = pair.orig[0]!, patched = pair.patched[0]!;
      const out = path.join(work, `${path.basename(c.patch, ".patch")}.o`);
      const { run, json } = diffJson(orig, patched, ["-o", out]);
      const explain = `\n${run.stdout.slice(0, 3000)}\n${run.stderr.slice(0, 2000)}`;
      assert.equal(run.status, c.exit, `exit${explain}`);
      assert.ok(json, `--json output${explain}`);
      assert.equal(json["arch"], "AArch64");
      assert.deepEqual(sorted(json.changed), sorted(c.changed), `changed${explain}`);
      assert.deepEqual(sorted(json.new), sorted(c.new), `new${explain}`);
      assert.deepEqual(sorted([...new Set(json.refused.map((r) => r.symbol))]), sorted(c.refused), `refused${explain}`);

      // The target's layouts (klp build's way) give the same verdicts as the known shapes.
      const withLayouts = runDiff(orig, patched, { layouts: treeLayouts() });
      assert.deepEqual(sorted(withLayouts.changed.map((f) => f.name)), sorted(c.changed), "changed, with the tree's layouts");
      assert.deepEqual(sorted(withLayouts.new.map((f) => f.name)), sorted(c.new), "new, with the tree's layouts");

      assertRoundTrip(orig, work, BINUTILS.aarch64);
      if (c.exit !== 0) {
        assert.ok(!fs.existsSync(out), `exit ${c.exit} but ${out} was written`);
        return;
      }
      assertRoundTrip(out, work, BINUTILS.aarch64);
      const carried = new Set(symbols(out).filter((s) => s.type === "FUNC" && s.section !== "UND").map((s) => parentOf(s.name)));
      assert.deepEqual(sorted([...carried]), sorted([...c.changed, ...c.new]), "functions defined in OUT.o");
      const l = treeLayouts();
      for (const [section, struct] of Object.entries(TABLES)) {
        const size = l.get(struct)!.size;
        const want = specialEntries(patched, section, size).filter((e) => carried.has(e.split(" ")[0]!));
        assert.deepEqual(specialEntries(out, section, size), want, `${section} entries in OUT.o`);
        if (c.carries?.includes(section)) assert.ok(want.length > 0, `the case should carry ${section} entries`);
      }
      assertRelocationsInside(out);
      // The ftrace entry travels: two NOPs before each carried function, recorded as on arm64.
      assert.ok(specialEntries(out, "__patchable_function_entries", 8).length >= carried.size, "__patchable_function_entries");
    });
  });
}
