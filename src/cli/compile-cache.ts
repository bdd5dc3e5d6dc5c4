// Loads a command's bundle (dist/klp-<command>.cjs) through V8's code cache, as Node 22's
// module.enableCompileCache() does and Node 20 cannot: `klp diff` runs once per object pair, and
// compiling the functions it runs was a fifth of what it cost above `node -e 0` (fs/pipe.o
// against itself, counted with callgrind: 641 M instructions compiled, 610 M from the cache).
// The cache is written once, at exit, after a run compiled what the command uses. It starts with
// the bundle file's identity (size, inode, change and modification times): every build writes
// the bundle anew, so another bundle at the same path never passes for this one (V8 itself
// checks only the length of the source). V8 rejects the cache after a Node upgrade, and it is
// written again. NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does in Node 22.
// Named imports throughout: a default import of a Node module is bundled as a copy of all of its
// properties (esbuild's __toESM), in the one file every command loads.
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

/**
 * The bundle's source and the identity of the file it was read from. Read, not compared with a
 * copy kept in the cache: that read and compare was ~1.5 ms of each `klp diff`. The bundles are
 * ASCII (scripts/bundle.mjs checks), so latin1 decodes them as UTF-8 would, without its decoder.
 */
function readBundle(file: string): { source: string; identity: Buffer } {
  const fd = openSync(file, "r");
  try {
    const st = fstatSync(fd);
    return { source: readFileSync(fd).toString("latin1"), identity: Buffer.from(`klp ${st.size} ${st.ino} ${st.ctimeMs} ${st.mtimeMs}\n`) };
  } finally {
    closeSync(fd);
  }
}

/** The cached code of the bundle, when the cache was made from the file with this identity. */
function readCache(cacheFile: string, identity: Buffer): Buffer | undefined {
  try {
    const c = readFileSync(cacheFile);
    return c.length > identity.length && c.subarray(0, identity.length).equals(identity) ? c.subarray(identity.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written (read-only home) only costs the next run time. */
function writeCache(cacheFile: string, identity: Buffer, script: Script): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(tmp, Buffer.concat([identity, script.createCachedData()]));
    renameSync(tmp, cacheFile);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/**
 * `require(file)` of a CommonJS bundle, compiled from V8's code cache when there is one.
 * `requireHere` is the caller's own require: the bundles sit beside dist/klp.cjs, so it resolves
 * what they require (node:fs, iced-x86) as their own would; `provided` answers some ids itself
 * (./klp-errors.cjs: the dispatcher's own errors module, whose KlpError it catches). node:module's
 * createRequire and wrap would load Node's ES module loader, ~2 ms of every `klp diff`.
 */
export function requireBundle(file: string, requireHere: NodeJS.Require, provided: Readonly<Record<string, unknown>> = {}): unknown {
  const require = Object.assign((id: string) => (Object.hasOwn(provided, id) ? provided[id] : requireHere(id)), requireHere);
  const { source, identity } = readBundle(file);
  const cacheFile = cacheFileOf(file);
  // NODE_DISABLE_COMPILE_CACHE=1 compiles from the source alone, as Node 22 does with it.
  const cached = !process.env["NODE_DISABLE_COMPILE_CACHE"];
  const cachedData = cached ? readCache(cacheFile, identity) : undefined;
  // The wrapper node:module's wrap() puts around a CommonJS module.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
  const script = new Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, require, module, file, dirname(file));
  if (cached && (!cachedData || script.cachedDataRejected)) process.once("exit", () => writeCache(cacheFile, identity, script));
  return module.exports;
}
