// The byte proof on real objects: every function of real Debian 6.1 objects, built in klpkit's
// exact tree, equals the running kernel's own bytes — vmlinux through its image and kallsyms,
// module code through the kernel's .ko — with every resolvable relocation going to the same
// symbol. Negative controls: a weak function the architecture overrides is reported, and one
// flipped instruction byte is found at its offset.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { STB_WEAK } from "../src/elf/constants.js";
import { KlpError } from "../src/errors.js";
import { klpObjectName } from "../src/kbuild/object-info.js";
import { locateFunction, type TargetObject } from "../src/klp/resolve.js";
import { prove, type ProofItem, type ProofRequest } from "../src/proof/proof.js";
import { runningKernel } from "../src/proof/running-kernel.js";
import { readKernelObject } from "../src/read.js";
import { kernelSymbols } from "../src/target/modules.js";
import { resolveTarget } from "../src/target/resolve.js";
import { buildPair, kernelTree } from "./support/kernel.js";

const OBJECTS = ["fs/proc/cmdline.o", "fs/proc/base.o", "fs/proc/array.o", "fs/proc/fd.o", "kernel/fork.o", "kernel/sys.o", "mm/slub.o", "fs/binfmt_misc.o"];
const quiet = () => {};

function requestFor(obj: string, file: string, tree: string, k: ReturnType<typeof kernelSymbols>) {
  const o = readKernelObject(file);
  const target: TargetObject = { name: klpObjectName(tree, obj), sourceFile: o.sourceFile, definedNames: o.functions.map((f) => ({ name: f.name, isFunction: true })) };
  const items: ProofItem[] = [];
  const weak: string[] = [];
  const unlocated: string[] = [];
  for (const f of o.functions) {
    try {
      items.push({ entity: f, at: locateFunction(f.name, target, k).symbol, why: "replaced" });
      if (f.sym.bind === STB_WEAK) weak.push(f.name);
    } catch (e) {
      if (!(e instanceof KlpError)) throw e;
      unlocated.push(f.name); // inlined everywhere, or an __exit function vmlinux discards
    }
  }
  const req: ProofRequest = { object: obj, target: target.name, orig: o, items };
  return { req, weak, unlocated };
}

test("every function of real 6.1 objects equals the running kernel's bytes (vmlinux and a module)", { timeout: 900_000 }, () => {
  const t = resolveTarget({}, quiet);
  const k = kernelSymbols(t, quiet);
  const kernel = runningKernel(t, k, quiet);
  const tree = kernelTree();
  const pair = buildPair("-", OBJECTS, "proof-rebuild");
  let proven = 0, references = 0, located = 0, overridden = 0;
  OBJECTS.forEach((obj, i) => {
    const { req, weak, unlocated } = requestFor(obj, pair.orig[i]!, tree, k);
    located += req.items.length;
    const r = prove([req], kernel);
    const wrong = r.mismatches.map((m) => m.symbol).sort();
    // kernel/fork.c's weak arch_release_task_struct/arch_dup_task_struct are not what runs:
    // arch/x86 overrides them, and kallsyms' symbols of those names are x86's. Only weak
    // functions may differ (arch_task_cache_init, weak too, is not overridden and is proven).
    assert.ok(wrong.every((w) => weak.includes(w)), `${obj}: ${r.mismatches.map((m) => m.reason).join("; ")}`);
    if (obj === "kernel/fork.o") assert.deepEqual(wrong, ["arch_dup_task_struct", "arch_release_task_struct"]);
    assert.ok(unlocated.length <= req.items.length / 10, `${obj}: ${unlocated.length} functions not in kallsyms: ${unlocated.join(", ")}`);
    proven += r.functions;
    references += r.references;
    overridden += wrong.length;
  });
  // Every located function is proven, but for the weak ones the architecture overrides.
  assert.equal(proven + overridden, located);
  assert.ok(proven >= 500, `${proven} functions proven of ${located}`);
  assert.ok(references > proven, `${references} references resolved alike`);
  console.log(`proof: ${proven} of ${located} located functions equal the kernel's bytes; ${references} references resolved alike`);
});

test("a flipped instruction byte is found, with its offset", () => {
  const t = resolveTarget({}, quiet);
  const k = kernelSymbols(t, quiet);
  const tree = kernelTree();
  const pair = buildPair("-", ["fs/proc/cmdline.o"], "proof-rebuild-cmdline");
  const { req } = requestFor("fs/proc/cmdline.o", pair.orig[0]!, tree, k);
  const item = req.items.find((x) => x.entity.name === "cmdline_proc_show")!;
  // Past the ftrace call: the first byte outside every relocation field.
  const at = [...item.entity.bytes.keys()].find((i) => i > 9 && !item.entity.relocs.toArray().some((r) => i >= r.offset && i < r.offset + 4))!;
  item.entity.bytes[at]! ^= 0x01;
  const r = prove([{ ...req, items: [item] }], runningKernel(t, k, quiet));
  assert.equal(r.mismatches.length, 1);
  assert.equal(r.mismatches[0]!.symbol, "cmdline_proc_show");
  assert.match(r.mismatches[0]!.reason, new RegExp(`does not build the running kernel: cmdline_proc_show differs at \\+0x${at.toString(16)} `));
  assert.equal(path.basename(r.mismatches[0]!.object ?? ""), "cmdline.o");
});
