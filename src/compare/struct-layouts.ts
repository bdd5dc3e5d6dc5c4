// Struct and union layouts of two builds of one object, read from their DWARF. A patch that adds a
// member or changes a member's type compiles into code that reads and writes the new layout,
// while every instance the running kernel already made keeps the old one: 6.1.176's fix to
// net/batman-adv/types.h put `struct delayed_work reschedule_work` in the middle of
// batadv_hard_iface_bat_iv, and a livepatch of the new bat_iv_ogm.c would take ogm_buff_mutex
// 32 bytes past where the running module's interfaces hold it. Only the names both builds define
// are compared: a struct the patch adds has no old instances.
import * as D from "../dwarf/constants.js";
import { readDebugInfo, type DebugInfo, type Die } from "../dwarf/reader.js";
import { childrenOf, dieAt, QUALIFIERS } from "../dwarf/types.js";
import type { Refusal } from "../errors.js";
import type { KObject } from "../object/kobject.js";

const ATTRS: ReadonlySet<number> = new Set([
  D.DW_AT_name, D.DW_AT_type, D.DW_AT_byte_size, D.DW_AT_declaration, D.DW_AT_data_member_location,
  D.DW_AT_data_bit_offset, D.DW_AT_bit_offset, D.DW_AT_bit_size, D.DW_AT_count, D.DW_AT_upper_bound,
]);

/** One member as the layout places it; members of an anonymous struct or union are flattened. */
interface Member {
  readonly name: string;
  readonly offset: number;
  /** `:bit/width` of a bitfield, empty otherwise. */
  readonly bits: string;
  /** Bytes of its type; undefined when the type has no size DWARF states. */
  readonly size: number | undefined;
}

interface Layout {
  readonly size: number;
  readonly members: readonly Member[];
}

const RECORDS: ReadonlyMap<number, string> = new Map([
  [D.DW_TAG_structure_type, "struct"], [D.DW_TAG_union_type, "union"],
]);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** The type at `offset` with its typedefs and qualifiers looked through (`const u32` → the base type). */
function underlying(info: DebugInfo, offset: unknown): Die | undefined {
  let t = dieAt(info, offset);
  for (let depth = 0; t && (t.tag === D.DW_TAG_typedef || QUALIFIERS.has(t.tag)) && depth < 16; depth++) {
    t = dieAt(info, t.attrs.get(D.DW_AT_type));
  }
  return t;
}

/** Bytes of the type at `offset`, through typedefs and qualifiers; an array's elements times its count. */
function typeSize(info: DebugInfo, offset: unknown, depth = 0): number | undefined {
  const die = underlying(info, offset);
  if (!die || depth > 16) return undefined;
  if (die.tag === D.DW_TAG_array_type) {
    const element = typeSize(info, die.attrs.get(D.DW_AT_type), depth + 1);
    if (element === undefined) return undefined;
    let n = 1;
    for (const r of childrenOf(info, die)) {
      if (r.tag !== D.DW_TAG_subrange_type) continue;
      const count = num(r.attrs.get(D.DW_AT_count)) ?? (num(r.attrs.get(D.DW_AT_upper_bound)) ?? -1) + 1;
      n *= count; // a flexible array member (no bound) counts 0
    }
    return element * n;
  }
  return num(die.attrs.get(D.DW_AT_byte_size));
}

/** The record a member's type names when it has no name of its own (an anonymous union). */
function anonymousRecord(info: DebugInfo, member: Die): Die | undefined {
  const t = underlying(info, member.attrs.get(D.DW_AT_type));
  return t && RECORDS.has(t.tag) && !t.attrs.has(D.DW_AT_name) ? t : undefined;
}

/** The members of `record` placed `base` bytes into the outermost record, into `out`. */
function membersOf(info: DebugInfo, record: Die, base: number, out: Member[], depth = 0): void {
  for (const m of childrenOf(info, record)) {
    if (m.tag !== D.DW_TAG_member) continue;
    // DWARF 4 and later place a bitfield by its bit from the record's start, with no byte offset.
    const dataBit = num(m.attrs.get(D.DW_AT_data_bit_offset));
    const byte = num(m.attrs.get(D.DW_AT_data_member_location)) ?? Math.floor((dataBit ?? 0) / 8);
    const name = m.attrs.get(D.DW_AT_name);
    const inner = name === undefined ? anonymousRecord(info, m) : undefined;
    if (inner && depth < 8) {
      membersOf(info, inner, base + byte, out, depth + 1);
      continue;
    }
    const width = num(m.attrs.get(D.DW_AT_bit_size));
    const bit = dataBit === undefined ? num(m.attrs.get(D.DW_AT_bit_offset)) : dataBit % 8;
    out.push({
      name: typeof name === "string" ? name : "(anonymous)", offset: base + byte,
      bits: width === undefined ? "" : `:${bit ?? 0}/${width}`, size: typeSize(info, m.attrs.get(D.DW_AT_type)),
    });
  }
}

const memberKey = (m: Member) => `${m.name}@${m.offset}${m.bits}#${m.size ?? "?"}`;
const serialize = (l: Layout) => `${l.size}|${l.members.map(memberKey).join(",")}`;

/**
 * Every complete named struct and union of the object (`struct packet_sock`), and each anonymous
 * one a typedef names (`typedef atomic_t`), with its layouts: one per definition, a name defined
 * in two scopes having two.
 */
function layoutsOf(o: KObject): Map<string, Map<string, Layout>> {
  const info = readDebugInfo(o.elf, o.arch, ATTRS);
  const out = new Map<string, Map<string, Layout>>();
  const add = (key: string, record: Die) => {
    const size = num(record.attrs.get(D.DW_AT_byte_size));
    if (size === undefined || record.attrs.get(D.DW_AT_declaration) === true) return;
    const members: Member[] = [];
    membersOf(info, record, 0, members);
    const layout = { size, members };
    let forName = out.get(key);
    if (!forName) out.set(key, (forName = new Map()));
    forName.set(serialize(layout), layout);
  };
  for (const die of info.dies) {
    const kind = RECORDS.get(die.tag);
    const name = die.attrs.get(D.DW_AT_name);
    if (kind && typeof name === "string") add(`${kind} ${name}`, die);
    else if (die.tag === D.DW_TAG_typedef && typeof name === "string") {
      const target = dieAt(info, die.attrs.get(D.DW_AT_type));
      const anonymous = target && RECORDS.has(target.tag) && !target.attrs.has(D.DW_AT_name);
      if (anonymous) add(`typedef ${name}`, target);
    }
  }
  return out;
}

const bytes = (n: number | undefined) => (n === undefined ? "? bytes" : n === 1 ? "1 byte" : `${n} bytes`);
const place = (m: Member) => `+${m.offset}${m.bits}`;

/** What changed between two layouts of a record, additions first: "retries added at +8 (4 bytes)". */
function differences(a: Layout, b: Layout): string[] {
  const out: string[] = [];
  const before = new Map(a.members.map((m) => [m.name, m]));
  const after = new Map(b.members.map((m) => [m.name, m]));
  for (const m of b.members) {
    if (!before.has(m.name)) out.push(`${m.name} added at ${place(m)} (${bytes(m.size)})`);
  }
  for (const m of a.members) if (!after.has(m.name)) out.push(`${m.name} removed from ${place(m)}`);
  for (const m of b.members) {
    const old = before.get(m.name);
    if (!old) continue;
    if (old.size !== m.size) out.push(`${m.name} ${bytes(old.size)} → ${bytes(m.size)}`);
    else if (place(old) !== place(m)) out.push(`${m.name} moved ${place(old)} → ${place(m)}`);
  }
  return out;
}

/**
 * A refusal for each struct or union both builds define whose layout the patch changed: a size,
 * a member added, removed, moved or resized. Needs both objects' DWARF readable
 * (dwarf/reader.ts unreadableDwarf).
 */
export function changedStructLayouts(o: KObject, p: KObject): Refusal[] {
  const before = layoutsOf(o), after = layoutsOf(p);
  const out: Refusal[] = [];
  for (const [name, old] of before) {
    const now = after.get(name);
    if (!now || [...old.keys()].every((k) => now.has(k))) continue;
    const a = [...old.values()].find((l) => !now.has(serialize(l)))!;
    const b = [...now.values()].find((l) => !old.has(serialize(l))) ?? [...now.values()][0]!;
    const what = differences(a, b);
    const shown = [a.size === b.size ? bytes(a.size) : `${bytes(a.size)} → ${bytes(b.size)}`, ...what.slice(0, 4)];
    if (what.length > 4) shown.push(`${what.length - 4} more`);
    out.push({
      symbol: name,
      reason: `the patch changes its layout (${shown.join("; ")}): the replacement code would use the `
        + "new layout on instances the running kernel made with the old one",
      hint: "keep the layout: hold new state in a shadow variable (klp_shadow_get_or_alloc, "
        + "Documentation/livepatch/shadow-vars.rst) instead of a new member, and keep member types as they are",
    });
  }
  return out;
}
