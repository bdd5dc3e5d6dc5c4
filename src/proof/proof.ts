// The proof that the original build IS the running kernel: every function the livepatch replaces,
// and every symbol whose position among same-named ones decided a sympos, has original object code
// equal to the target's own bytes (vmlinux from its image, module code from its .ko). Relocation
// fields are not just skipped: where the running kernel's linked value can be read back, it must
// resolve to the same symbol (or the same string) as the build's relocation. A mismatch means the
// source or config is not the running kernel's, and nothing may be written.
import { isNoppedFentry, isSealedEndbr, jumpSiteLength, linkedValue } from "../arch/linked.js";
import { STT_SECTION } from "../elf/constants.js";
import type { ElfRela } from "../elf/types.js";
import type { Refusal } from "../errors.js";
import type { KData, KFunction, KObject, Referent } from "../object/kobject.js";
import type { KernelSymbol } from "../target/symbols.js";
import type { VmlinuxBytes } from "./kernel-bytes.js";

/** One symbol of the original object, and where the target has it. */
export interface ProofItem {
  readonly entity: KFunction | KData;
  readonly at: KernelSymbol;
  /** Replaced by the livepatch, or located to decide a sympos. */
  readonly why: "replaced" | "sympos";
}

export interface ProofRequest {
  /** The kernel object, e.g. fs/proc/cmdline.o. */
  readonly object: string;
  /** "vmlinux" or a module name. */
  readonly target: string;
  readonly orig: KObject;
  readonly items: readonly ProofItem[];
}

/** Where the running kernel's bytes come from. */
export interface RunningKernel {
  vmlinux(): VmlinuxBytes;
  /** The target's own module file, parsed. */
  module(name: string): KObject;
}

export interface ProofCounts {
  readonly functions: number;
  readonly data: number;
  /** Relocation fields whose linked value resolves to the same symbol or string. */
  readonly references: number;
  /** Relocation fields only masked (anonymous data, symbols kallsyms does not list). */
  readonly masked: number;
}

export interface ProofResult extends ProofCounts {
  readonly mismatches: readonly Refusal[];
}

const hex = (n: number) => `0x${n.toString(16)}`;
const bytesHex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/**
 * What a relocation of the build points at, as the running kernel would name it. `also`: the
 * other names at the same place of a .ko. Without lockdep, `struct lock_class_key` is empty, so
 * every `__key.N` of an object (spin_lock_init, mutex_init …) has size 0 and shares its address
 * with the others and with the next object (hidp.ko: `__key.61` and `hidp_sk_list`); any of them
 * is the same place.
 */
type Expected = { kind: "name"; name: string; also?: readonly string[] } | { kind: "string"; text: string } | { kind: "none" };

function expectedOf(ref: Referent): Expected {
  if (ref.kind === "sym") return { kind: "name", name: ref.sym.name };
  if (ref.kind === "str") return { kind: "string", text: ref.text };
  return { kind: "none" };
}

class Tally {
  functions = 0;
  data = 0;
  references = 0;
  masked = 0;
  readonly mismatches: Refusal[] = [];
}

function mismatch(req: ProofRequest, item: ProofItem, what: string): Refusal {
  return {
    symbol: item.entity.name, object: req.object,
    reason: `the source or config does not build the running kernel: ${item.entity.name} ${what}`,
    hint: "build from the exact source and config of the running kernel (klpkit's own tree for a Debian kernel; a --source tree of another version or flavour builds other code)",
  };
}

/** Where the build's bytes may be rewritten at link time: the function's jump label sites. */
function rewritableSites(o: KObject, e: KFunction | KData): number[] {
  return e.kind === "function" ? o.specialEntries(e).filter((x) => x.table.name === "__jump_table").map((x) => x.at) : [];
}

/** The relocation of each `call __fentry__` of a function (its field follows the e8 opcode). */
function fentryRelocs(o: KObject, e: KFunction | KData): ElfRela[] {
  if (e.kind !== "function") return [];
  return relocsOf(e).filter((r) => {
    const ref = o.referent(r, e.section);
    return ref.kind === "sym" && ref.sym.name === "__fentry__";
  });
}

/** True when the build's `call __fentry__` of `r` is a NOP in the running kernel (see isNoppedFentry). */
const noppedAt = (machine: number, built: Buffer, running: Buffer, r: ElfRela): boolean =>
  r.offset > 0 && isNoppedFentry(machine, built, running, r.offset - 1);

/**
 * First difference outside relocation fields, or -1. Bytes 0..3 may be an IBT-sealed endbr, a
 * jump label site may hold the other of its two forms, and a `call __fentry__` may be objtool's
 * NOP (see arch/linked.ts).
 */
function firstDifference(machine: number, built: Buffer, running: Buffer, masked: (i: number) => boolean,
  isFunction: boolean, sites: readonly number[] = [], fentry: readonly ElfRela[] = []): number {
  const sealed = isFunction && isSealedEndbr(machine, built, running);
  const rewritten = new Set<number>();
  for (const at of sites) {
    const n = jumpSiteLength(machine, built, running, at);
    for (let i = 0; i < n; i++) rewritten.add(at + i);
  }
  for (const r of fentry) if (noppedAt(machine, built, running, r)) for (let i = -1; i < 4; i++) rewritten.add(r.offset + i);
  for (let i = sealed ? 4 : 0; i < built.length; i++) if (built[i] !== running[i] && !masked(i) && !rewritten.has(i)) return i;
  return -1;
}

/** An entity's relocations as plain objects: the proof reads few entities, and each wholly. */
const relocsOf = (e: KFunction | KData): ElfRela[] => e.relocs.toArray();

function maskOf(k: KObject, relocs: readonly ElfRela[]): (i: number) => boolean {
  const ranges = relocs.map((r) => [r.offset, r.offset + k.arch.relocWidth(r.type)] as const);
  return (i) => ranges.some(([a, b]) => i >= a && i < b);
}

/** A vmlinux symbol against the image. */
function proveInVmlinux(req: ProofRequest, item: ProofItem, img: VmlinuxBytes, t: Tally): void {
  const e = item.entity, o = req.orig, base = item.at.address;
  if (e.kind === "data" && e.bss) { t.data++; return; } // zero-initialised: nothing in the image to compare
  const running = img.at(base, e.bytes.length);
  if (!running) { t.mismatches.push(mismatch(req, item, `is not in the kernel image at ${hex(base)}`)); return; }
  const fentry = fentryRelocs(o, e);
  const at = firstDifference(o.elf.machine, e.bytes, running, maskOf(o, relocsOf(e)), e.kind === "function", rewritableSites(o, e), fentry);
  if (at >= 0) {
    const end = Math.min(at + 6, e.bytes.length);
    t.mismatches.push(mismatch(req, item, `differs at +${hex(at)} (build: ${bytesHex(e.bytes.subarray(at, end))}; running kernel: ${bytesHex(running.subarray(at, end))})`));
    return;
  }
  for (const r of relocsOf(e)) {
    const width = o.arch.relocWidth(r.type);
    if (width === 0) continue;
    if (fentry.some((f) => f.offset === r.offset) && noppedAt(o.elf.machine, e.bytes, running, r)) { t.masked++; continue; }
    const ref = o.referent(r, e.section);
    const expected = expectedOf(ref);
    const value = linkedValue(o.elf.machine, r.type, running.subarray(r.offset, r.offset + width), base + r.offset);
    if (value === undefined || ref.kind === "none" || expected.kind === "none") { t.masked++; continue; }
    // S + A read back, minus the build's own addend: where the referred symbol (or string) starts.
    const symAddress = value - ref.offset;
    if (expected.kind === "string") {
      const text = img.at(symAddress, expected.text.length + 1);
      if (text && text.toString("latin1") === `${expected.text}\0`) { t.references++; continue; }
      t.mismatches.push(mismatch(req, item, `+${hex(r.offset)} refers to the string ${JSON.stringify(expected.text.slice(0, 40))}, the running kernel's code to other bytes`));
      return;
    }
    const names = img.namesAt(symAddress);
    if (names.includes(expected.name)) { t.references++; continue; }
    if (!img.hasName(expected.name)) { t.masked++; continue; } // kallsyms does not list it: cannot tell
    t.mismatches.push(mismatch(req, item, `+${hex(r.offset)} refers to ${expected.name}, the running kernel's code to ${names.join("/") || `an unnamed address ${hex(symAddress)}`}`));
    return;
  }
  if (e.kind === "function") t.functions++; else t.data++;
}

/** What a relocation of `k`'s entity (or its resolved in-section reference) names. */
function describeExpected(x: Expected): string {
  return x.kind === "name" ? x.name : x.kind === "string" ? JSON.stringify(x.text.slice(0, 40)) : "anonymous data";
}

function sameExpected(a: Expected, b: Expected): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "name" && b.kind === "name") return a.name === b.name || (b.also ?? []).includes(a.name);
  if (a.kind === "string" && b.kind === "string") return a.text === b.text;
  return true;
}

/** The entities of `k` starting at `value` (in section `shndx`, when given). */
function entitiesAt(k: KObject, shndx: number | undefined, value: number): (KFunction | KData)[] {
  const out: (KFunction | KData)[] = [];
  for (const x of k.byIndex.values()) if (x.sym.value === value && (shndx === undefined || x.sym.shndx === shndx)) out.push(x);
  return out;
}

/** The entity of `k` starting at `value` (in section `shndx`, when given), with that name if given. */
function entityAt(k: KObject, shndx: number | undefined, value: number, name?: string): KFunction | KData | undefined {
  return entitiesAt(k, shndx, value).find((x) => name === undefined || x.name === name);
}

/** Every name of `k`'s entities starting at `value` of section `shndx`, as one Expected. */
function namedAt(k: KObject, shndx: number, value: number): Expected | undefined {
  const names = entitiesAt(k, shndx, value).map((x) => x.name);
  return names.length ? { kind: "name", name: names[0]!, also: names.slice(1) } : undefined;
}

/**
 * What the .ko's relocation names. A reference through a section symbol (`.data+0x1c4`) is read
 * with the build's own offset from its symbol: `movb $0, enabled(%rip)` has addend -5, and
 * guessing the instruction's length could land on the object before `enabled` in the .ko's
 * shared .data, where the build's -fdata-sections object has `enabled` alone in its section.
 */
function koReferent(ko: KObject, kr: ElfRela, built: Referent, from: KFunction["section"]): Expected {
  const sym = ko.elf.symbols[kr.symbol];
  if (built.kind === "sym" && sym?.type === STT_SECTION) {
    const hit = namedAt(ko, sym.shndx, kr.addend - built.offset);
    if (hit) return hit;
  }
  const ref = ko.referent(kr, from);
  return ref.kind === "sym" ? namedAt(ko, ref.sym.shndx, ref.sym.value) ?? expectedOf(ref) : expectedOf(ref);
}

/** A module symbol against the same symbol of the target's .ko (both unlinked objects). */
function proveInModule(req: ProofRequest, item: ProofItem, ko: KObject, t: Tally): void {
  const e = item.entity, o = req.orig;
  const twin = entityAt(ko, undefined, item.at.address, item.at.name);
  if (!twin || twin.kind !== e.kind) { t.mismatches.push(mismatch(req, item, `is not in ${req.target}.ko`)); return; }
  if (twin.bytes.length !== e.bytes.length || (e.kind === "data" && twin.kind === "data" && twin.bss !== e.bss)) {
    t.mismatches.push(mismatch(req, item, `has ${e.bytes.length || e.sym.size} bytes, ${req.target}.ko's has ${twin.bytes.length || twin.sym.size}`));
    return;
  }
  const mine = maskOf(o, relocsOf(e)), theirs = maskOf(ko, relocsOf(twin));
  const fentry = fentryRelocs(o, e);
  const at = firstDifference(o.elf.machine, e.bytes, twin.bytes, (i) => mine(i) || theirs(i), e.kind === "function", rewritableSites(o, e), fentry);
  if (at >= 0) {
    const end = Math.min(at + 6, e.bytes.length);
    t.mismatches.push(mismatch(req, item, `differs at +${hex(at)} (build: ${bytesHex(e.bytes.subarray(at, end))}; ${req.target}.ko: ${bytesHex(twin.bytes.subarray(at, end))})`));
    return;
  }
  const koRelocs = new Map(relocsOf(twin).map((r) => [r.offset, r] as const));
  for (const r of relocsOf(e)) {
    const width = o.arch.relocWidth(r.type);
    if (width === 0) continue;
    if (fentry.some((f) => f.offset === r.offset) && noppedAt(o.elf.machine, e.bytes, twin.bytes, r)) { t.masked++; continue; }
    const ref = o.referent(r, e.section);
    const expected = expectedOf(ref);
    const kr = koRelocs.get(r.offset);
    let found: Expected = { kind: "none" };
    if (kr) found = koReferent(ko, kr, ref, twin.section);
    else if (ref.kind !== "none") {
      // No relocation in the .ko: the assembler resolved a reference inside its one .text.
      const value = linkedValue(o.elf.machine, r.type, twin.bytes.subarray(r.offset, r.offset + width), twin.sym.value + r.offset);
      const hit = value === undefined ? undefined : namedAt(ko, twin.section.index, value - ref.offset);
      if (hit) found = hit;
    }
    if (expected.kind === "none" || found.kind === "none") { t.masked++; continue; }
    if (sameExpected(expected, found)) { t.references++; continue; }
    t.mismatches.push(mismatch(req, item, `+${hex(r.offset)} refers to ${describeExpected(expected)}, ${req.target}.ko's to ${describeExpected(found)}`));
    return;
  }
  if (e.kind === "function") t.functions++; else t.data++;
}

export function prove(requests: readonly ProofRequest[], kernel: RunningKernel): ProofResult {
  const t = new Tally();
  for (const req of requests) {
    for (const item of req.items) {
      if (req.target === "vmlinux") proveInVmlinux(req, item, kernel.vmlinux(), t);
      else proveInModule(req, item, kernel.module(req.target), t);
    }
  }
  return { functions: t.functions, data: t.data, references: t.references, masked: t.masked, mismatches: t.mismatches };
}
