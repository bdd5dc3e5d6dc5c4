// Whether two builds of a function differ only in `__LINE__` values passed to a function known to
// take one (`__might_sleep(__FILE__, __LINE__)`): a line shift above it, not a change. Decodes with
// iced-x86, loaded on first use (most pairs never need it), and decodes only the original: its
// twin has the same bytes outside the differing immediates, so the same instructions.
import { LINE_ARGUMENT } from "./line-callees.js";
import type { CodeView } from "./types.js";

type Iced = typeof import("iced-x86");
let iced: Iced | undefined;
function loadIced(): Iced {
  // node:module only here, when a pair needs the decoder: loading it at start-up brings in
  // Node's ES module loader, ~2 ms of every `klp diff` (V8's function log).
  iced ??= process.getBuiltinModule("node:module").createRequire(import.meta.url)("iced-x86") as Iced;
  return iced;
}

/** How far past a `mov $line, %reg` the call that consumes it may be (instructions). */
const CALL_WINDOW = 12;

/** Instruction starts of `code`, from one pass of the decoder reusing one Instruction; null if invalid. */
function instructionStarts(dec: InstanceType<Iced["Decoder"]>, ins: InstanceType<Iced["Instruction"]>, size: number): number[] | null {
  const starts: number[] = [];
  dec.position = 0;
  while (dec.canDecode) {
    const at = dec.position;
    dec.decodeOut(ins);
    if (ins.isInvalid) return null;
    starts.push(at);
  }
  return starts.length && starts[starts.length - 1]! < size ? starts : null;
}

/** Offsets of the runs of differing bytes of two equally long buffers: [start, end) pairs. */
function differingRuns(a: Buffer, b: Buffer): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    let j = i + 1;
    while (j < a.length && a[j] !== b[j]) j++;
    runs.push([i, j]);
    i = j;
  }
  return runs;
}

const lastStartAtOrBefore = (starts: number[], at: number) => {
  let lo = 0, hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= at) lo = mid + 1; else hi = mid;
  }
  return lo - 1;
};

export function differsOnlyInLineNumbers(a: CodeView, b: CodeView): boolean {
  if (a.code.length !== b.code.length) return false;
  const runs = differingRuns(a.code, b.code);
  if (!runs.length) return false;
  // The first differing run must feed a call of a LINE_ARGUMENT function: a function that calls
  // none (nearly every one Debian's config builds, which calls no __might_sleep) has no line
  // number to shift, and nothing to decode. Loading iced-x86 (its WASM compiled on load) cost
  // more than all the rest of a diff of kernel/fork.o.
  if (!a.refersToAny(LINE_ARGUMENT)) return false;
  const x = loadIced();
  const argOf = new Map<number, number>([
    [x.Register.EDI, 1], [x.Register.RDI, 1], [x.Register.ESI, 2], [x.Register.RSI, 2],
    [x.Register.EDX, 3], [x.Register.RDX, 3], [x.Register.ECX, 4], [x.Register.RCX, 4],
    [x.Register.R8D, 5], [x.Register.R8, 5], [x.Register.R9D, 6], [x.Register.R9, 6],
  ]);
  const dec = new x.Decoder(64, a.code, x.DecoderOptions.None);
  const ins = new x.Instruction();
  const at = (offset: number) => {
    dec.position = offset;
    dec.decodeOut(ins);
  };
  try {
    const starts = instructionStarts(dec, ins, a.code.length);
    if (!starts) return false;
    const checked = new Set<number>();
    for (const [from, to] of runs) {
      const i = lastStartAtOrBefore(starts, from);
      if (i < 0 || checked.has(i)) continue;
      checked.add(i);
      const start = starts[i]!;
      at(start);
      // Every differing byte of the instruction lies in its immediate…
      const co = dec.getConstantOffsets(ins);
      const imm = co.hasImmediate ? start + co.immediateOffset : -1, immEnd = imm + co.immediateSize;
      co.free();
      if (imm < 0 || from < imm || to > immEnd || to > start + ins.length) return false;
      // … of a `mov $imm, %reg` whose register is a line argument of the next call.
      const arg = ins.opCount === 2 && ins.op0Kind === x.OpKind.Register ? (argOf.get(ins.op0Register) ?? 0) : 0;
      if (!arg || !feedsCall(a, b, starts, i, arg, (k) => {
        at(starts[k]!);
        return ins.flowControl === x.FlowControl.Call;
      })) return false;
    }
    return true;
  } finally {
    ins.free();
    dec.free();
  }
}

/** The first call within CALL_WINDOW instructions after `i` takes a line number as argument `arg`. */
function feedsCall(a: CodeView, b: CodeView, starts: number[], i: number, arg: number, isCall: (k: number) => boolean): boolean {
  for (let k = i + 1; k < starts.length && k <= i + CALL_WINDOW; k++) {
    if (!isCall(k)) continue;
    const ca = a.calleeAt(starts[k]! + 1), cb = b.calleeAt(starts[k]! + 1);
    return ca !== undefined && ca === cb && LINE_ARGUMENT.get(ca) === arg;
  }
  return false;
}
