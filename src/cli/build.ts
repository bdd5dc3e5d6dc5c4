// `klp build --patch FIX.patch [--kernel V] [--source DIR] [-o DIR] [--name N] [--replace] [--json]`
// `klp build --arch arm64 --emit-objects-only --patch FIX.patch [-o DIR] [--json]`
import { runObjectBuild } from "../build-objects.js";
import { runBuild } from "../build.js";
import { badInput } from "../errors.js";
import { cacheRoot } from "../target/cache.js";
import { resolveTarget } from "../target/resolve.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { parseCommand, targetRequest } from "./args.js";

export const buildHelp = `usage: klp build --patch FIX.patch [--kernel ${DEFAULT_KERNEL}] [--source DIR] [-o DIR] [--name N] [--replace]
                 [--ignore-init-changes] [--json]

Build a livepatch module for a Debian kernel from a source patch: compile the objects the patch
touches before and after it in the kernel's exact source (the linux-source package of the image's
own version, fetched when needed) with its own config and compiler, diff them, resolve symbols
against the kernel, prove that the original build is the running kernel's bytes, and link
DIR/<name>.ko with kbuild.

  --patch FILE    the fix, a -p1 unified diff against the kernel source
  --kernel V      target kernel release (default: ${DEFAULT_KERNEL}); fetched from Debian's
                  archive into klpkit's cache when it is not installed
  --source DIR    a kernel you built (vmlinux, System.map, Module.symvers in DIR): it is the
                  target, built with its own compiler (LLVM=1 for Clang) and proven against
                  its own vmlinux and modules. With --kernel V, or when DIR is only
                  configured: a tree to build V's patch in instead of the exact Debian source
                  (the byte proof refuses it when it does not build V). klp builds in a copy
                  of DIR in its cache and never writes to DIR.
  -o, --output D  where to write <name>.ko (default: .)
  --name N        livepatch module name (default: livepatch_<patch file name>)
  --replace       cumulative patch: atomically replaces all earlier livepatches
  --ignore-init-changes
                  leave changed __init/__exit code and data out (listed as ignored) instead
                  of refusing them: they take effect at the next boot or module load
  --json          print the summary (or the refusal) as JSON
  --arch arm64 --emit-objects-only
                  Debian's 6.12 source with its arm64 config: build, diff and write one
                  livepatch object per patched object into DIR (no Debian 12 arm64 kernel
                  enables CONFIG_LIVEPATCH, so nothing is resolved, proven or linked)
exit: 0 module written, 1 refused as unsafe or unprovable, 2 bad input or compile error, 3 nothing to patch`;

export function buildCommand(argv: string[]): number {
  const { values } = parseCommand("build", argv, {
    patch: { type: "string" },
    kernel: { type: "string" },
    source: { type: "string" },
    output: { type: "string", short: "o", default: "." },
    name: { type: "string" },
    replace: { type: "boolean" },
    "ignore-init-changes": { type: "boolean" },
    json: { type: "boolean" },
    arch: { type: "string" },
    "emit-objects-only": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, []);
  if (values["help"]) {
    process.stdout.write(buildHelp + "\n");
    return 0;
  }
  const patch = values["patch"] as string | undefined;
  if (!patch) throw badInput(undefined, "build: --patch FIX.patch is required (see klp build --help)");
  const json = values["json"] === true;
  const log = (s: string) => { process.stderr.write(`klp build: ${s}\n`); };
  const arch = values["arch"] as string | undefined;
  if (arch !== undefined && arch !== "x86_64") return objectBuild(arch, values, patch, json, log);
  if (values["emit-objects-only"]) throw badInput(undefined, "build: --emit-objects-only goes with --arch arm64");
  const target = resolveTarget(targetRequest(values), log);
  const r = runBuild(target, {
    patch, outDir: values["output"] as string, replace: values["replace"] === true, ignoreInitChanges: values["ignore-init-changes"] === true,
    ...(values["name"] ? { name: values["name"] as string } : {}),
  }, log);
  if (json) {
    process.stdout.write(JSON.stringify(r, null, 2) + "\n");
    return 0;
  }
  const lines = [`wrote ${r.module}`, `  for ${r.kernel.release} (${r.kernel.package} ${r.kernel.packageVersion}), built from ${r.kernel.source}`];
  for (const o of r.objects) {
    lines.push(`  ${o.target === "vmlinux" ? "vmlinux" : `module ${o.target}`} (${o.object}): patched ${o.changed.join(", ") || "-"}${o.new.length ? `; new ${o.new.join(", ")}` : ""}${o.klpRelocations.length ? `; klp symbols ${o.klpRelocations.join(" ")}` : ""}`);
  }
  for (const o of r.objects) for (const i of o.ignored) lines.push(`  left out of ${o.object}: ${i}`);
  const tracepoints = r.leftOut.filter((e) => e.table === "__jump_table").map((e) => e.key.replace(/^__tracepoint_/, ""));
  // A tracepoint's static call (__SCK__tp_func_<name>) goes with it.
  const calls = r.leftOut.filter((e) => e.table !== "__jump_table" && !tracepoints.some((t) => e.key.endsWith(`tp_func_${t}`))).map((e) => e.key);
  if (tracepoints.length) {
    lines.push(`  tracepoints off in the patched code (a module's keys, whose klp relocations come after the kernel reads the livepatch's jump table): ${tracepoints.join(", ")}`);
  }
  if (calls.length) lines.push(`  static calls made through their trampolines (a module's keys): ${calls.join(", ")}`);
  if (r.unchangedObjects.length) lines.push(`  unchanged: ${r.unchangedObjects.join(", ")}`);
  if (r.headerReaders) {
    const h = r.headerReaders;
    lines.push(`  header readers: ${h.readers} preprocessed before and after, ${h.compiled} compiled (the patch reaches no code of the others)`);
  }
  for (const n of r.patchOffsets) lines.push(`  note: ${n} — check that the patched functions are the ones meant`);
  lines.push(`  checked: ${r.check.verdict} (klp check on the written module: ${r.check.functions} function(s))`);
  lines.push(`  proven: ${r.proof.functions} function(s), ${r.proof.data} data object(s) equal the running kernel's bytes (${r.proof.references} references resolved alike)`);
  lines.push(`  total ${r.steps.reduce((s, x) => s + x.seconds, 0).toFixed(1)} s: ${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)} s`).join(", ")}`);
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** `--arch arm64 --emit-objects-only`: the livepatch objects, one per patched object. */
function objectBuild(arch: string, values: Record<string, unknown>, patch: string, json: boolean, log: (s: string) => void): number {
  if (arch !== "arm64") throw badInput(undefined, `build: unknown --arch ${arch} (x86_64 or arm64)`);
  if (!values["emit-objects-only"]) {
    throw badInput(undefined, "build: --arch arm64 needs --emit-objects-only (no Debian 12 arm64 kernel enables CONFIG_LIVEPATCH: there is no module to link or boot)");
  }
  const r = runObjectBuild(patch, values["output"] as string, cacheRoot(), log);
  if (json) {
    process.stdout.write(JSON.stringify(r, null, 2) + "\n");
    return 0;
  }
  const lines = [`arm64 objects from ${r.source} (${r.tree})`];
  for (const o of r.objects) {
    lines.push(`  ${o.object}: ${o.output ? `wrote ${o.output}; patched ${o.changed.join(", ") || "-"}${o.new.length ? `; new ${o.new.join(", ")}` : ""}` : "unchanged"}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
