// Loads a command's bundle (dist/klp-<command>.cjs) through V8's code cache, as Node 22's
// module.enableCompileCache() does and Node 20 cannot: `klp diff` runs once per object pair, and
// compiling the functions it runs was a fifth of what it cost above `node -e 0` (fs/pipe.o
// against itself, counted with callgrind: 641 M instructions compiled, 610 M from the cache).
// The cache is written once, at exit, after a run compiled what the command uses; it holds the
// bundle's own bytes and is used only when they are the bytes loaded now (V8 itself checks only
// the length of the source), and V8 rejects it after a Node upgrade, when it is written again.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does in Node 22.
// Named imports throughout: a default import of a Node module is bundled as a copy of all of its
// properties (esbuild's __toESM), in the one file every command loads.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire, wrap } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheRoot } from "../target/cache.js";

/** Where the cache of `file` lives: one per install of klp (by path) and per V8 version. */
function cacheFileOf(file: string): string {
  let h = 0x811c9dc5; // FNV-1a of the path: two checkouts of klp must not evict each other
  for (let i = 0; i < file.length; i++) h = Math.imul(h ^ file.charCodeAt(i), 0x01000193);
  const name = `${basename(file, ".cjs")}-${(h >>> 0).toString(16)}-v8-${process.versions.v8}.bin`;
  return join(cacheRoot(), "compile-cache", name);
}

/** The cached code of `source`, when the cache file starts with exactly these bytes. */
function readCache(cacheFile: string, source: Buffer): Buffer | undefined {
  try {
    const c = readFileSync(cacheFile);
    return c.length > source.length && c.subarray(0, source.length).equals(source) ? c.subarray(source.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written (read-only home) only costs the next run time. */
function writeCache(cacheFile: string, source: Buffer, script: Script): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(tmp, Buffer.concat([source, script.createCachedData()]));
    renameSync(tmp, cacheFile);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** `require(file)` of a CommonJS bundle, compiled from V8's code cache when there is one. */
export function requireBundle(file: string): unknown {
  if (process.env["NODE_DISABLE_COMPILE_CACHE"]) return createRequire(file)(file);
  const source = readFileSync(file);
  const cacheFile = cacheFileOf(file);
  const cachedData = readCache(cacheFile, source);
  const script = new Script(wrap(source.toString("utf8")), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (!cachedData || script.cachedDataRejected) process.once("exit", () => writeCache(cacheFile, source, script));
  return module.exports;
}
