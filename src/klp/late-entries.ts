// Entries of a livepatch's load-time tables that name a module's symbol. The kernel reads the
// livepatch's __jump_table and .static_call_sites when the livepatch loads, but applies its klp
// relocations for a module only when that module is patched, later: Debian 6.1's cifs fix in
// smb2ops.c carries smb2_add_credits, whose trace_smb3_overflow_credits() is a static branch on
// cifs's own __tracepoint_smb3_overflow_credits. Two kinds of such entries can be left out
// without changing what the code does when it runs:
// - a tracepoint's static branch (key `__tracepoint_<name>`, not inverted), as kpatch-build leaves
//   it out: its site is set to the NOP it holds while the tracepoint is off, so the patched
//   function runs untraced, and says so;
// - a static call site: the call stays a call to its trampoline, which static_call_update()
//   points where it points the sites it knows.
// Any other (a module's own static key, whose state the livepatch cannot know) stays, and is
// refused by lateTableReferences.
import { jumpSiteOff } from "../arch/linked.js";
import { SHN_UNDEF } from "../elf/constants.js";
import type { OutObject, OutReloc, OutSection } from "../elf/model.js";
import type { Layouts } from "../object/layouts.js";
import { keyField } from "./static-calls.js";

export interface LeftOutEntry {
  readonly table: "__jump_table" | ".static_call_sites";
  /** The key the entry named: `__tracepoint_smb3_overflow_credits`, `__SCK__tp_func_…`. */
  readonly key: string;
}

const TRACEPOINT_KEY = "__tracepoint_";
/** The low bit of a jump entry's key: the branch is inverted (static_branch_likely's form). */
const BRANCH_INVERTED = 1;

const isUndefined = (r: OutReloc) => r.symbol !== null && !r.symbol.section && r.symbol.shndx === SHN_UNDEF;

/**
 * Sets the jump label site that entry `code` (its owner relocation) points at to its NOP, and
 * drops the relocation of a `jmp` to another section there; false when it is no such site.
 */
function turnOff(obj: OutObject, code: OutReloc | undefined): boolean {
  const text = code?.symbol?.section;
  if (!code || !text?.data) return false;
  const at = code.symbol!.value + code.addend;
  const bytes = Buffer.from(text.data.buffer, text.data.byteOffset, text.data.length);
  const nop = jumpSiteOff(obj.machine, bytes, at);
  if (!nop) return false;
  nop.copy(bytes, at);
  const rela = obj.sections.find((s) => s.relocs?.target === text)?.relocs;
  if (rela) rela.entries = rela.entries.filter((r) => r.offset < at || r.offset >= at + nop.length);
  return true;
}

/**
 * Leaves out the entries of `obj`'s __jump_table and .static_call_sites whose key `late` says is
 * a module's (see above), and returns them; every other entry stays, in order.
 */
export function leaveOutLateEntries(obj: OutObject, late: (name: string) => boolean, layouts?: Layouts): LeftOutEntry[] {
  const out: LeftOutEntry[] = [];
  for (const rela of obj.sections) {
    const table = rela.relocs?.target;
    if (!rela.relocs || !table?.data || (table.name !== "__jump_table" && table.name !== ".static_call_sites")) continue;
    if (!rela.relocs.entries.some((r) => isUndefined(r) && late(r.symbol!.name))) continue;
    const f = keyField(obj, table, layouts)!;
    const byEntry = new Map<number, OutReloc[]>();
    for (const r of rela.relocs.entries) {
      const i = Math.floor(r.offset / f.size);
      const list = byEntry.get(i);
      if (list) list.push(r); else byEntry.set(i, [r]);
    }
    const dropped = new Set<number>();
    for (const [i, relocs] of byEntry) {
      const key = relocs.find((r) => r.offset === i * f.size + f.field);
      if (!key || !isUndefined(key) || !late(key.symbol!.name)) continue;
      if (table.name === "__jump_table") {
        const tracepoint = key.symbol!.name.startsWith(TRACEPOINT_KEY) && (key.addend & BRANCH_INVERTED) === 0;
        if (!tracepoint || !turnOff(obj, relocs.find((r) => r.offset === i * f.size + f.owner))) continue;
      }
      dropped.add(i);
      if (!out.some((e) => e.table === table.name && e.key === key.symbol!.name)) out.push({ table: table.name, key: key.symbol!.name });
    }
    if (dropped.size) removeEntries(rela, table, f.size, dropped);
  }
  return out;
}

/** Removes entries `dropped` (indexes) of `table` and their relocations; later ones move up. */
function removeEntries(rela: OutSection, table: OutSection, size: number, dropped: ReadonlySet<number>): void {
  const data = table.data!;
  const count = Math.floor(data.length / size);
  const kept = new Uint8Array(data.length - dropped.size * size);
  const newIndex: number[] = [];
  for (let i = 0, n = 0; i < count; i++) {
    if (dropped.has(i)) continue;
    kept.set(data.subarray(i * size, (i + 1) * size), n * size);
    newIndex[i] = n++;
  }
  table.data = kept;
  rela.relocs!.entries = rela.relocs!.entries.filter((r) => !dropped.has(Math.floor(r.offset / size)));
  for (const r of rela.relocs!.entries) r.offset = newIndex[Math.floor(r.offset / size)]! * size + (r.offset % size);
}
