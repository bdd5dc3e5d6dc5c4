// Where klpkit keeps what it learned about kernels: downloaded packages, exact source tarballs,
// prepared trees (one per source version and config), kallsyms, unpacked images, builds.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** $KLP_CACHE, else ~/.cache/klpkit. */
export function cacheRoot(): string {
  return process.env["KLP_CACHE"] ?? path.join(os.homedir(), ".cache/klpkit");
}

/** A directory under the cache root, created on first use. */
export function cacheDir(root: string, ...parts: string[]): string {
  const dir = path.join(root, ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `data` to `file` through a temporary file and a rename (readers never see half of it). */
export function writeCacheFile(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
