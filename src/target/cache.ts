// Where klpkit keeps what it learned about kernels: downloaded packages, exact source tarballs,
// prepared trees (one per source version and config), kallsyms, unpacked images, builds.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * $KLP_CACHE, else ~/.cache/klpkit. $HOME before os.homedir(): every `klp diff` asks for its
 * compile cache here, and loading node:os cost it ~0.8 ms of a ~30 ms run (V8's function log).
 */
export function cacheRoot(): string {
  return process.env["KLP_CACHE"] ?? join(process.env["HOME"] || process.getBuiltinModule("node:os").homedir(), ".cache/klpkit");
}

/** A directory under the cache root, created on first use. */
export function cacheDir(root: string, ...parts: string[]): string {
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `data` to `file` through a temporary file and a rename (readers never see half of it). */
export function writeCacheFile(file: string, data: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
