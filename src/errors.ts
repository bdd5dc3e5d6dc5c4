// One error type for everything a user can cause. `cli/` turns it into a one-line message
// and an exit code; anything else that escapes is a bug in klpkit.

/** Exit codes of the `klp diff` contract. */
export const ExitCode = {
  patch: 0,
  refused: 1,
  badInput: 2,
  noChange: 3,
} as const;

/**
 * Control characters escaped: names read from a corrupted object (a `\n` in a symbol name)
 * must not break the one-line error into several.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export class KlpError extends Error {
  constructor(
    /** Exit code this error maps to (2 = bad input, 1 = refused). */
    readonly code: number,
    message: string,
    /** The file the error is about, when there is one. */
    readonly file?: string,
    /** Further lines (each refusal of a build, a tool's output), printed below the message. */
    readonly details: readonly string[] = [],
  ) {
    super(printable(file ? `${file}: ${message}` : message));
    this.name = "KlpError";
  }
}

export function badInput(file: string | undefined, reason: string): KlpError {
  return new KlpError(ExitCode.badInput, reason, file);
}
