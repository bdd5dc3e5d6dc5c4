// Output without process.stdout and process.stderr: the first touch of either builds node's
// stream machinery (node:stream, its pipeline and operators), about 4 ms of a `klp diff` that
// takes 35 ms beyond node's own start-up on an object pair (bench/diff-bench.ts). A write to
// the file descriptor is all a command that prints once and exits needs.
import { writeSync } from "node:fs";

/** Writes all of `text` to `fd` (1 or 2); a reader that went away (EPIPE) ends the writing. */
export function writeAll(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let at = 0; at < buf.length;) {
    try {
      at += writeSync(fd, buf, at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A pipe node's parent made non-blocking may be full for a moment.
      if (code === "EAGAIN") continue;
      if (code === "EPIPE") return;
      throw e;
    }
  }
}
