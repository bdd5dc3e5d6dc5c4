// The diff pipeline, one direction: read → correlate → compare → select → emit.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Comparer } from "./compare/compare.js";
import { changedStructLayouts } from "./compare/struct-layouts.js";
import { correlate } from "./correlate/correlate.js";
import { unreadableDwarf } from "./dwarf/reader.js";
import { writeElf } from "./elf/writer.js";
import { badInput, ExitCode, KlpError } from "./errors.js";
import { emitObject } from "./klp/emit.js";
import { readKernelObject } from "./read.js";
import { select, type FunctionChange, type Refusal, type Selection } from "./select/select.js";
import type { Correlation } from "./correlate/correlate.js";
import type { KObject } from "./object/kobject.js";
import type { Layouts } from "./object/layouts.js";

export interface AnalyzeOptions {
  /**
   * The target kernel's struct layouts (from src/target/): special tables are read with them.
   * Without them each table's layout is inferred from the objects, or the diff stops (exit 2).
   */
  readonly layouts?: Layouts;
  /**
   * Accept changed `__init`/`__exit` code and data as taking effect at the next boot: listed
   * under `ignored`, not carried, instead of refused.
   */
  readonly ignoreInitChanges?: boolean;
  /** The objects are linked into vmlinux, whose `__exit` code never runs (see SelectOptions). */
  readonly builtIn?: boolean;
  /**
   * Compare the struct and union layouts of the two builds (compare/struct-layouts.ts) when
   * something is carried, and refuse each one the patch changed. Reads both objects' DWARF:
   * klp build always asks for it, `klp diff` with --struct-layouts.
   */
  readonly structLayouts?: boolean;
}

export interface DiffOptions extends AnalyzeOptions {
  /** Write the livepatch object here when there is something to patch. */
  readonly output?: string;
}

export interface DiffResult {
  readonly orig: string;
  readonly patched: string;
  readonly sourceFile: string | undefined;
  readonly arch: string;
  readonly changed: readonly FunctionChange[];
  readonly new: readonly FunctionChange[];
  readonly removed: readonly string[];
  readonly lineOnly: readonly string[];
  readonly refused: readonly Refusal[];
  /** Functions of the patched object the output carries, including .cold parts. */
  readonly carried: readonly string[];
  readonly freshDataChanged: readonly string[];
  readonly ignored: readonly string[];
  /** Why each of `ignored` was left out. */
  readonly ignoredWhy: ReadonlyMap<string, string>;
  readonly output: string | null;
  readonly exitCode: number;
  /** --struct-layouts was asked for, but an object's DWARF cannot be read: why. */
  readonly layoutsUnchecked: string | undefined;
}

/** Everything the diff learned about one object pair, for callers that emit more than a file. */
export interface DiffAnalysis {
  readonly o: KObject;
  readonly p: KObject;
  readonly corr: Correlation;
  readonly sel: Selection;
  readonly exitCode: number;
  /** Layouts were asked for and something is carried, but an object's DWARF cannot be read: why. */
  readonly layoutsUnchecked: string | undefined;
}

export function analyzeDiff(origPath: string, patchedPath: string, options: AnalyzeOptions = {}): DiffAnalysis {
  const objectOptions = options.layouts ? { layouts: options.layouts } : {};
  const o = readKernelObject(origPath, objectOptions);
  const p = readKernelObject(patchedPath, objectOptions);
  if (o.elf.machine !== p.elf.machine) throw badInput(undefined, `${origPath} and ${patchedPath} are for different machines`);
  if (o.sourceFile && p.sourceFile && o.sourceFile !== p.sourceFile) {
    throw badInput(undefined, `${origPath} and ${patchedPath}: objects come from different source files (${o.sourceFile} vs ${p.sourceFile})`);
  }
  const corr = correlate(o, p);
  const selected = select(o, p, corr, new Comparer(o, p, corr), {
    ignoreInitChanges: options.ignoreInitChanges === true, builtIn: options.builtIn === true,
  });
  const carries = selected.changed.length > 0 || selected.new.length > 0;
  const compareLayouts = options.structLayouts === true && carries;
  const layoutsUnchecked = compareLayouts ? unreadableDwarf(o.elf) ?? unreadableDwarf(p.elf) : undefined;
  const sel = compareLayouts && !layoutsUnchecked
    ? { ...selected, refused: [...selected.refused, ...changedStructLayouts(o, p)] } : selected;
  const exitCode = sel.refused.length ? ExitCode.refused : carries ? ExitCode.patch : ExitCode.noChange;
  return { o, p, corr, sel, exitCode, layoutsUnchecked };
}

export function runDiff(origPath: string, patchedPath: string, opts: DiffOptions = {}): DiffResult {
  const a = analyzeDiff(origPath, patchedPath, opts);
  const { o, p, corr, sel, exitCode, layoutsUnchecked } = a;
  let output: string | null = null;
  if (opts.output && exitCode === ExitCode.patch) {
    writeAtomically(opts.output, writeElf(emitObject(o, p, corr, sel).object));
    output = opts.output;
  }
  return {
    orig: origPath, patched: patchedPath, sourceFile: p.sourceFile, arch: p.arch.name,
    changed: sel.changed, new: sel.new, removed: sel.removed, lineOnly: sel.lineOnly, refused: sel.refused,
    carried: sel.carried.map((f) => f.name), freshDataChanged: sel.freshDataChanged, ignored: sel.ignored, ignoredWhy: sel.ignoredWhy, output, exitCode,
    layoutsUnchecked,
  };
}

/**
 * Writes through a temporary file and a rename, so a failure never leaves half an object.
 * `verify` reads the written file back before it takes `file`'s name (klp convert checks that
 * the module it wrote loads); whatever it throws leaves nothing behind.
 */
export function writeAtomically(file: string, data: Buffer, verify?: (written: string) => void) {
  const tmp = join(dirname(resolve(file)), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    verify?.(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || !/^E[A-Z]+$/.test(code)) throw e;
    throw new KlpError(ExitCode.badInput, `cannot write output (${code})`, file);
  }
}
