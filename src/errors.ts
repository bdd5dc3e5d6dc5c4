// One error type for everything a user can cause. `cli/` turns it into a one-line message
// and an exit code; anything else that escapes is a bug in klpkit.

/** Exit codes of the `klp diff` contract. */
export const ExitCode = {
  patch: 0,
  refused: 1,
  badInput: 2,
  noChange: 3,
} as const;

export class KlpError extends Error {
  constructor(
    /** Exit code this error maps to (2 = bad input, 1 = refused). */
    readonly code: number,
    message: string,
    /** The file the error is about, when there is one. */
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = "KlpError";
  }
}

export function badInput(file: string | undefined, reason: string): KlpError {
  return new KlpError(ExitCode.badInput, reason, file);
}
