// What the diff engine needs to know about an instruction set, behind one interface.

/** One function's machine code with its relocation fields (offsets relative to the function). */
export interface CodeView {
  readonly code: Buffer;
  readonly relocs: readonly { readonly offset: number; readonly type: number }[];
  /** Name of the symbol a relocation at `offset` refers to, when it is a named symbol. */
  calleeAt(offset: number): string | undefined;
}

export interface Arch {
  readonly name: string;
  readonly machine: number;
  relocName(type: number): string;
  /** Bytes the relocation writes (masked out when code is compared). */
  relocWidth(type: number): number;
  /** Offsets past `addend` a PC-relative reference may aim at, nearest first. */
  pcTargetBiases(type: number): readonly number[];
  /** Relocation types a special-section entry uses to point into code (PC-relative 32-bit). */
  readonly relocPc32: number;
  /** Absolute 64-bit relocation. */
  readonly relocAbs64: number;
  /** True when the function starts with the ftrace hook the livepatch core redirects. */
  hasFtraceEntry(f: CodeView): boolean;
  /**
   * True when `a` and `b` differ only in immediates that pass `__LINE__` to a function known
   * to take a line number (e.g. `__might_sleep(__FILE__, __LINE__)`): a pure line shift.
   */
  differsOnlyInLineNumbers(a: CodeView, b: CodeView): boolean;
}
