// One error type for everything a user can cause. `cli/` turns it into a message and an exit
// code; anything else that escapes is a bug in klpkit. Refusals stay data ({symbol, reason,
// hint}) until `cli/` prints them, as text or as JSON.

/** Exit codes of the `klp` contract. */
export const ExitCode = {
  patch: 0,
  refused: 1,
  badInput: 2,
  noChange: 3,
} as const;

/** Why something cannot be livepatched safely, and what the patch author can do instead. */
export interface Refusal {
  readonly symbol: string;
  readonly reason: string;
  readonly hint: string;
  /** The kernel object (e.g. fs/proc/cmdline.o) it was found in, when there are several. */
  readonly object?: string;
}

/**
 * Control characters escaped: names read from a corrupted object (a `\n` in a symbol name)
 * must not break the one-line error into several.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export interface ErrorExtras {
  /** What the user can do about it. */
  readonly hint?: string;
  /** Each unsafe change, when the error is a refusal. */
  readonly refusals?: readonly Refusal[];
}

export class KlpError extends Error {
  readonly hint: string | undefined;
  readonly refusals: readonly Refusal[];

  constructor(
    /** Exit code this error maps to (2 = bad input, 1 = refused, 3 = nothing to do). */
    readonly code: number,
    message: string,
    /** The file the error is about, when there is one. */
    readonly file?: string,
    /** Further lines (a tool's output, the compiler's messages), printed below the message. */
    readonly details: readonly string[] = [],
    extras: ErrorExtras = {},
  ) {
    super(printable(file ? `${file}: ${message}` : message));
    this.name = "KlpError";
    this.hint = extras.hint;
    this.refusals = extras.refusals ?? [];
  }
}

export function badInput(file: string | undefined, reason: string): KlpError {
  return new KlpError(ExitCode.badInput, reason, file);
}

/** A refusal: the change is unsafe for the running kernel; nothing is written. */
export function refuse(message: string, refusals: readonly Refusal[], file?: string, hint?: string): KlpError {
  return new KlpError(ExitCode.refused, message, file, [], { refusals, ...(hint ? { hint } : {}) });
}

/** One refusal as a line: `object: symbol: reason (hint: …)`. */
export function refusalLine(r: Refusal): string {
  return `${r.object ? `${r.object}: ` : ""}${r.symbol}: ${r.reason} (hint: ${r.hint})`;
}
