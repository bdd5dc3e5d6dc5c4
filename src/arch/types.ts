// What the diff engine needs to know about an instruction set, behind one interface.

/** One function's machine code with its relocation fields (offsets relative to the function). */
export interface CodeView {
  readonly code: Buffer;
  /** Name of the symbol a relocation at `offset` refers to, when it is a named symbol. */
  calleeAt(offset: number): string | undefined;
  /** True when a relocation of the function names (as calleeAt would) a symbol in `names`. */
  refersToAny(names: ReadonlyMap<string, unknown>): boolean;
  /**
   * Offsets in the function that an ftrace location table records (`__mcount_loc`,
   * `__patchable_function_entries`): where the kernel's ftrace expects a patchable site.
   */
  readonly ftraceSites: readonly number[];
}

/**
 * A layout a kernel struct had on this architecture at some point (structurally the same as
 * object/layouts.ts's StructLayout, which this layer may not import).
 */
export interface KnownLayout {
  readonly size: number;
  readonly fields: ReadonlyMap<string, { readonly offset: number; readonly size: number }>;
  /** Fields that hold a relocation in every entry (pointers and PC-relative offsets). */
  readonly refs: readonly string[];
  /** Which kernels used it, for messages. */
  readonly era: string;
}

export interface Arch {
  readonly name: string;
  readonly machine: number;
  relocName(type: number): string;
  /** Bytes the relocation writes (masked out when code is compared). */
  relocWidth(type: number): number;
  /**
   * For a relocation that writes an immediate field inside a 4-byte little-endian instruction
   * word, the bits it writes (AArch64 CALL26: 0x03ffffff); 0 when it writes whole bytes. Code
   * compare masks only these bits of the word, so the opcode and registers still count.
   */
  relocFieldBits(type: number): number;
  /** Offsets past `addend` a PC-relative reference may aim at, nearest first. */
  pcTargetBiases(type: number): readonly number[];
  /** Relocation types a special-section entry uses to point into code (PC-relative 32-bit). */
  readonly relocPc32: number;
  /** Absolute 64-bit relocation. */
  readonly relocAbs64: number;
  /** Size of a pointer (an absolute address field) in kernel data. */
  readonly pointerSize: number;
  /** The shapes kernel struct `name` had on this architecture, for objects without a target. */
  knownLayouts(name: string): readonly KnownLayout[];
  /**
   * Bytes of compiler padding right in front of the function at section offset `start`, part of
   * it (a carried function carries them): x86 CALL_PADDING's 0x90 bytes when the function is the
   * first of its section (`first`); arm64 CALL_OPS's two `nop` words (where ftrace stores the
   * function's ftrace_ops) also after another function, which ends at `prevEnd`. 0 when none.
   */
  paddingBefore(code: Buffer, start: number, prevEnd: number, first: boolean): number;
  /** True when the function starts with an ftrace site the livepatch core can redirect. */
  hasFtraceEntry(f: CodeView): boolean;
  /**
   * True when the instruction holding the relocation of `type` at `offset` of `code` puts the
   * address it names into the first argument register (`mov $rfcomm_run, %rdi`; arm64's
   * `adrp x0, …` / `add x0, x0, :lo12:…`): the function is passed as a call's first argument.
   */
  loadsFirstArgument(code: Buffer, offset: number, type: number): boolean;
  /** True when the relocation of `type` at `offset` of `code` is the target of a call or jump. */
  isBranchAt(code: Buffer, offset: number, type: number): boolean;
  /**
   * True when `a` and `b` differ only in immediates that pass `__LINE__` to a function known
   * to take a line number (e.g. `__might_sleep(__FILE__, __LINE__)`): a pure line shift.
   */
  differsOnlyInLineNumbers(a: CodeView, b: CodeView): boolean;
}
