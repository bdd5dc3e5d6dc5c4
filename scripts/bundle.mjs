// Bundles the CLI into CommonJS files: Node 20 loads one CJS file ~15 ms faster than a tree of
// ES modules, and `klp diff` runs once per object pair. One bundle per command, so `klp diff`
// compiles the ~100 KB it runs, not the 240 KB of every command (V8 pre-parses all of a file it
// loads: ~10 ms here for the whole CLI). dist/klp.cjs is the dispatcher and holds src/errors.ts,
// which it lends to each command's bundle (see split). iced-x86 stays external (its WASM is
// loaded lazily, only for __LINE__ checks).
import { readFileSync } from "node:fs";
import { build } from "esbuild";

/** The commands of src/cli/main.ts, each imported there as `./<name>.js`. */
const COMMANDS = ["diff", "build", "vm-test", "target", "check", "convert"];
const chunk = (name) => `klp-${name}.cjs`;
/** What a command's bundle requires for src/errors.ts; dist/klp.cjs provides it (see split). */
const ERRORS = "./klp-errors.cjs";

/**
 * Imports between bundles: in a command's bundle errors.js becomes a require() of
 * "./klp-errors.cjs", which dist/klp.cjs (holding errors.js itself) answers with its own copy
 * when it loads the command, so a KlpError thrown in `klp diff` is a KlpError to the dispatcher
 * that maps it to an exit code. Loading errors as a file of its own was 1.3–2 ms of every
 * `klp diff` (Node's loader resolving, reading and compiling one more file). main.ts's
 * `import("./diff.js")` loads dist/klp-diff.cjs through V8's code cache (src/cli/compile-cache.ts).
 */
const split = (self) => ({
  name: "klp-split",
  setup(b) {
    b.onResolve({ filter: /(^|\/)errors\.js$/ }, () => (self === "main" ? undefined : { path: ERRORS, external: true }));
    b.onResolve({ filter: new RegExp(`^\\./(${COMMANDS.join("|")})\\.js$`) }, (a) =>
      a.importer.endsWith("src/cli/main.ts") ? { path: a.path.slice(2, -3), namespace: "klp-command" } : undefined);
    b.onLoad({ filter: /.*/, namespace: "klp-command" }, (a) => ({
      contents: `const { requireBundle } = require("./compile-cache.js");
module.exports = requireBundle(require("node:path").join(__dirname, ${JSON.stringify(chunk(a.path))}), require,
  { ${JSON.stringify(ERRORS)}: require("../errors.js") });`,
      resolveDir: "src/cli",
      loader: "js",
    }));
  },
});

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["iced-x86"],
  banner: { js: "const __klpImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { "import.meta.url": "__klpImportMetaUrl" },
  logLevel: "warning",
  // Whitespace and comments out, names kept (stack traces stay readable): V8 scans less of the
  // source on every run. ASCII only: one non-ASCII character in a comment made V8 hold the whole
  // bundle as a two-byte string; compile-cache.ts decodes the bundles as latin1.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
};

await Promise.all([
  // import() of a command becomes require(): a real import() starts Node's ESM loader (~40% of
  // what `klp diff` costs above `node -e 0` on a small pair, counted with callgrind).
  build({ ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/klp.cjs", plugins: [split("main")], supported: { "dynamic-import": false } }),
  ...COMMANDS.map((c) => build({ ...common, entryPoints: [`src/cli/${c}.ts`], outfile: `dist/${chunk(c)}`, plugins: [split(c)] })),
]);

// compile-cache.ts reads the bundles as latin1: a non-ASCII byte would reach V8 as another text.
for (const name of ["klp.cjs", ...COMMANDS.map(chunk)]) {
  const text = readFileSync(`dist/${name}`);
  const at = text.findIndex((b) => b > 0x7f);
  if (at >= 0) throw new Error(`dist/${name}: non-ASCII byte at offset ${at}; bundles must be ASCII`);
}
