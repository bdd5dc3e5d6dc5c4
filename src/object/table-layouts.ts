// Entry size and field offsets of a special table in one object: from the target kernel's
// layouts when klp build passes them, else inferred from the object itself: sh_entsize where
// the assembler was told it, else which known shape of the struct the section's size and
// relocations fit (arch/*-structs.ts). Whatever cannot be told apart is an error naming the
// section, never a guess: Debian 6.1's 12-byte alt_instr read as 6.12's 14 bytes misplaces
// every replacement.
import type { Arch, KnownLayout } from "../arch/index.js";
import type { RelocTable } from "../elf/relocs.js";
import { badInput, type KlpError } from "../errors.js";
import type { Layouts, StructLayout } from "./layouts.js";
import type { SiteTableSpec, SpecialTable, StructTableSpec, TableSpec } from "./tables.js";

/** What one table's section looks like in an object. */
export interface TableSample {
  readonly name: string;
  readonly size: number;
  /** sh_entsize; 0 when the assembler was not told. */
  readonly entsize: number;
  readonly relocs: RelocTable;
  /** Relocation `i` points into code (an executable section), as an entry's owner field does. */
  refersToCode(i: number): boolean;
  /**
   * Relocation `i` points into a function of the object. Nearly every owner does; a fixup in
   * the shared `.fixup` section of 4.x is code but no function's, which tells an 8-byte
   * exception table from a 12-byte one whose every relocation sits at the same offsets.
   */
  refersToFunction(i: number): boolean;
}

interface Context {
  readonly arch: Arch;
  readonly layouts: Layouts | undefined;
  /** The object, for error messages; none for an object klpkit made itself. */
  readonly file: string | undefined;
}

export function resolveTable(spec: TableSpec, sample: TableSample, ctx: Context): SpecialTable {
  return spec.kind === "struct" ? resolveStruct(spec, sample, ctx) : resolveSites(spec, sample, ctx);
}

const bad = (ctx: Context, s: TableSample, why: string): KlpError => badInput(ctx.file, `section ${s.name}: ${why}`);

/** The engine's view of one layout, or why the layout cannot serve the table. */
function project(spec: StructTableSpec, layout: StructLayout, name: string): SpecialTable | string {
  const f = layout.fields;
  const firstOf = (names: readonly string[]) => names.map((n) => f.get(n)).find((x) => x !== undefined);
  const owner = firstOf(spec.owner);
  if (!owner) return `struct ${spec.struct} has no field ${spec.owner.join(" or ")}`;
  const out: { -readonly [K in keyof SpecialTable]: SpecialTable[K] } = {
    name, spec, entrySize: layout.size, ownerField: owner.offset, semantic: spec.semantic,
    ignore: (spec.ignore ?? []).flatMap((n) => {
      const x = f.get(n);
      return x ? [[x.offset, x.size] as const] : [];
    }),
  };
  if (spec.blob) {
    const field = firstOf(spec.blob.field), length = firstOf(spec.blob.length);
    if (!field || !length) return `struct ${spec.struct} has no field ${(field ? spec.blob.length : spec.blob.field).join(" or ")}`;
    out.blob = { field: field.offset, lengthAt: length.offset, lengthSize: length.size };
  }
  if (spec.key) {
    const key = f.get(spec.key);
    if (!key) return `struct ${spec.struct} has no field ${spec.key}`;
    out.keyField = key.offset;
  }
  return out;
}

/** Entries of `size` bytes each have a relocation at `owner` to code (or, `inFunctions`, into a function). */
function ownersFit(s: TableSample, size: number, owner: number, inFunctions = false): boolean {
  if (size <= 0 || s.size % size !== 0) return false;
  const entries = s.size / size;
  let seen = 0;
  for (let i = 0; i < s.relocs.length; i++) {
    const off = s.relocs.offsets[i]!;
    if (off % size === owner && (inFunctions ? s.refersToFunction(i) : s.refersToCode(i))) seen++;
  }
  return seen === entries;
}

function resolveStruct(spec: StructTableSpec, s: TableSample, ctx: Context): SpecialTable {
  const given = ctx.layouts?.get(spec.struct);
  if (ctx.layouts) {
    if (!given) throw bad(ctx, s, `the target kernel has no struct ${spec.struct}, yet the object has ${s.name} entries (built for another kernel?)`);
    const t = project(spec, given, s.name);
    if (typeof t === "string") throw bad(ctx, s, `the target's ${t}`);
    if (s.entsize && s.entsize !== t.entrySize) throw bad(ctx, s, `sh_entsize ${s.entsize}, but the target's struct ${spec.struct} is ${t.entrySize} bytes`);
    if (!ownersFit(s, t.entrySize, t.ownerField)) {
      throw bad(ctx, s, `${s.size} bytes are not ${t.entrySize}-byte struct ${spec.struct} entries each pointing into code at offset ${t.ownerField} (the target's layout); built for another kernel?`);
    }
    return t;
  }
  const shapes = ctx.arch.knownLayouts(spec.struct);
  const sizes = [...new Set(shapes.map((k) => k.size))].join(", ");
  const byEntsize = s.entsize ? shapes.filter((k) => k.size === s.entsize) : shapes;
  if (!byEntsize.length) throw bad(ctx, s, `sh_entsize ${s.entsize} is no known layout of struct ${spec.struct} (known: ${sizes} bytes); build with klp build so the target's layouts are known`);
  const fits = byEntsize.flatMap((k) => {
    const view = refsFit(s, k, ctx.arch) ? project(spec, k, s.name) : "no fit";
    return typeof view !== "string" && ownersFit(s, view.entrySize, view.ownerField) ? [{ k, view }] : [];
  });
  let views = fits.map((f) => f.view);
  // Shapes that fit alike are told apart by owners that all lie in functions.
  if (views.some((v) => !sameView(v, views[0]!))) views = views.filter((v) => ownersFit(s, v.entrySize, v.ownerField, true));
  if (!views.length && fits.length) views = fits.map((f) => f.view);
  if (!views.length) {
    throw bad(ctx, s, `${s.size} bytes and their relocations fit no known layout of struct ${spec.struct} (${sizes} bytes); build with klp build so the target's layouts are known`);
  }
  // Shapes that differ only in fields the engine does not read (exception_table_entry's third
  // field: `handler` up to 5.15, `data` since) are one answer, not a guess.
  const first = views[0]!;
  if (views.some((v) => !sameView(v, first))) {
    const eras = fits.map(({ k }) => `${k.size} bytes (${k.era})`).join(" or ");
    throw bad(ctx, s, `entries could be struct ${spec.struct} of ${eras}; build with klp build so the target's layouts are known`);
  }
  return first;
}

/** The section is whole entries whose relocations all sit on reference fields of their width. */
function refsFit(s: TableSample, k: KnownLayout, arch: Arch): boolean {
  if (k.size <= 0 || s.size === 0 || s.size % k.size !== 0) return false;
  const widthAt = new Map<number, number>();
  for (const r of k.refs) {
    const f = k.fields.get(r);
    if (f) widthAt.set(f.offset, f.size);
  }
  for (let i = 0; i < s.relocs.length; i++) {
    if (widthAt.get(s.relocs.offsets[i]! % k.size) !== arch.relocWidth(s.relocs.types[i]!)) return false;
  }
  return true;
}

function sameView(a: SpecialTable, b: SpecialTable): boolean {
  return a.entrySize === b.entrySize && a.ownerField === b.ownerField && a.keyField === b.keyField
    && JSON.stringify(a.ignore) === JSON.stringify(b.ignore) && JSON.stringify(a.blob) === JSON.stringify(b.blob);
}

/** Sites are one relocation each (`.long insn - .`: 4 bytes; `.quad insn`: 8), back to back. */
function resolveSites(spec: SiteTableSpec, s: TableSample, ctx: Context): SpecialTable {
  const width = s.relocs.length ? ctx.arch.relocWidth(s.relocs.types[0]!) : s.entsize;
  const whole = width > 0 && s.size % width === 0 && s.relocs.length === s.size / width;
  let aligned = whole;
  for (let i = 0; aligned && i < s.relocs.length; i++) {
    aligned = s.relocs.offsets[i] === i * width && ctx.arch.relocWidth(s.relocs.types[i]!) === width;
  }
  if (!aligned) throw bad(ctx, s, `${s.size} bytes with ${s.relocs.length} relocations are not a list of one code address per entry`);
  if (s.entsize && s.entsize !== width) throw bad(ctx, s, `sh_entsize ${s.entsize}, but its entries are ${width}-byte code addresses`);
  return { name: s.name, spec, entrySize: width, ownerField: 0, ignore: [], semantic: spec.semantic };
}

/**
 * Entry size of a parallel table (`.orc_unwind`: one orc_entry per `.orc_unwind_ip` site), from
 * the target's layout or from dividing its size by the entry count.
 */
export function parallelEntrySize(struct: string, section: { name: string; size: number }, entries: number, ctx: Context): number {
  const sample = { name: section.name, size: section.size, entsize: 0, relocs: undefined as never, refersToCode: () => false, refersToFunction: () => false };
  const given = ctx.layouts?.get(struct);
  const size = given ? given.size : entries ? section.size / entries : 0;
  if (entries && section.size !== size * entries) {
    throw bad(ctx, sample, `${section.size} bytes for ${entries} entries of struct ${struct}${given ? ` (${given.size} bytes in the target)` : ""}`);
  }
  if (!given && entries && !ctx.arch.knownLayouts(struct).some((k) => k.size === size)) {
    throw bad(ctx, sample, `${size}-byte entries are no known layout of struct ${struct}; build with klp build so the target's layouts are known`);
  }
  return size;
}
