// A DWARF type as one canonical string, for telling whether two functions take and return the
// same things: typedefs and qualifiers (const, volatile, restrict, _Atomic) are looked through,
// since `u32` and `const unsigned int` are passed alike; base types are named by encoding and
// size (`s32`, `u64`), so gcc's `long unsigned int` and clang's `unsigned long` agree while
// `int` and `long` do not; structs, unions and enums by their tag name. The C spelling (the
// typedef a source wrote, `size_t`) is kept beside it for messages.
import * as D from "./constants.js";
import type { DebugInfo, Die } from "./reader.js";

/** The attributes the type walk needs from `readDebugInfo`. */
export const TYPE_ATTRS = [D.DW_AT_name, D.DW_AT_type, D.DW_AT_byte_size, D.DW_AT_encoding] as const;

export interface TypeName {
  /** What compares: `s32`, `struct seq_file *`, `u64 (*)(struct file *, s32)`. */
  readonly canonical: string;
  /** What the source wrote, outermost typedef kept: `size_t`, `const char *`. */
  readonly spelled: string;
}

/** Tags a type is only a qualified version of (const, volatile, restrict, _Atomic). */
export const QUALIFIERS: ReadonlySet<number> = new Set([D.DW_TAG_const_type, D.DW_TAG_volatile_type, D.DW_TAG_restrict_type, D.DW_TAG_atomic_type]);
const TAGGED: ReadonlyMap<number, string> = new Map([
  [D.DW_TAG_structure_type, "struct"], [D.DW_TAG_union_type, "union"], [D.DW_TAG_enumeration_type, "enum"]]);

export function dieAt(info: DebugInfo, offset: unknown): Die | undefined {
  const i = typeof offset === "number" ? info.byOffset.get(offset) : undefined;
  return i === undefined ? undefined : info.dies[i];
}

/** `s32` for a 4-byte signed integer, `bool`, `f64`; an unknown encoding keeps its DWARF name. */
function baseName(die: Die): string {
  const bits = Number(die.attrs.get(D.DW_AT_byte_size) ?? 0) * 8;
  switch (die.attrs.get(D.DW_AT_encoding)) {
    case D.DW_ATE_boolean: return "bool";
    case D.DW_ATE_float: return `f${bits}`;
    case D.DW_ATE_signed: case D.DW_ATE_signed_char: return `s${bits}`;
    case D.DW_ATE_unsigned: case D.DW_ATE_unsigned_char: return `u${bits}`;
    default: return String(die.attrs.get(D.DW_AT_name) ?? `base${bits}`);
  }
}

/** The child DIE indices of each DIE, built once per DebugInfo. */
const CHILDREN = new WeakMap<DebugInfo, Map<number, number[]>>();

export function childrenOf(info: DebugInfo, die: Die): readonly Die[] {
  let map = CHILDREN.get(info);
  if (!map) {
    map = new Map();
    info.dies.forEach((d, i) => {
      if (d.parent < 0) return;
      const list = map!.get(d.parent);
      if (list) list.push(i); else map!.set(d.parent, [i]);
    });
    CHILDREN.set(info, map);
  }
  return (map.get(info.byOffset.get(die.offset)!) ?? []).map((i) => info.dies[i]!);
}

/**
 * The type a DW_AT_type reference names (undefined: void). Depth-limited: a pointer to a struct
 * names the struct and stops, so self-referencing types end.
 */
export function typeName(info: DebugInfo, ref: unknown, depth = 0): TypeName {
  const die = dieAt(info, ref);
  if (!die) return { canonical: "void", spelled: "void" };
  if (depth > 16) return { canonical: "?", spelled: "?" };
  const inner = () => typeName(info, die.attrs.get(D.DW_AT_type), depth + 1);
  if (QUALIFIERS.has(die.tag)) {
    const t = inner();
    return { canonical: t.canonical, spelled: die.tag === D.DW_TAG_const_type ? `const ${t.spelled}` : t.spelled };
  }
  if (die.tag === D.DW_TAG_typedef) return { canonical: inner().canonical, spelled: String(die.attrs.get(D.DW_AT_name) ?? "?") };
  if (die.tag === D.DW_TAG_base_type) return { canonical: baseName(die), spelled: String(die.attrs.get(D.DW_AT_name) ?? baseName(die)) };
  if (die.tag === D.DW_TAG_pointer_type || die.tag === D.DW_TAG_reference_type) {
    const t = inner();
    return { canonical: `${t.canonical} *`, spelled: `${t.spelled}${t.spelled.endsWith("*") ? "" : " "}*` };
  }
  if (die.tag === D.DW_TAG_array_type) {
    const t = inner();
    return { canonical: `${t.canonical} []`, spelled: `${t.spelled} []` };
  }
  const tag = TAGGED.get(die.tag);
  if (tag) {
    const name = die.attrs.get(D.DW_AT_name);
    const n = typeof name === "string" ? `${tag} ${name}` : `${tag} <anonymous, ${String(die.attrs.get(D.DW_AT_byte_size) ?? "?")} bytes>`;
    return { canonical: n, spelled: n };
  }
  if (die.tag === D.DW_TAG_subroutine_type) {
    const ret = inner();
    const params = childrenOf(info, die).filter((c) => c.tag === D.DW_TAG_formal_parameter)
      .map((c) => typeName(info, c.attrs.get(D.DW_AT_type), depth + 1));
    const list = (k: keyof TypeName) => `${ret[k]} (${params.map((p) => p[k]).join(", ")})`;
    return { canonical: list("canonical"), spelled: list("spelled") };
  }
  return { canonical: `<tag 0x${die.tag.toString(16)}>`, spelled: `<tag 0x${die.tag.toString(16)}>` };
}
