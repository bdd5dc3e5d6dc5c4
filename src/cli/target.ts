// `klp target [--kernel V] [--source DIR] [--prepare] [--json]`: what klpkit builds against.
import { describeTarget } from "../target/target.js";
import { resolveTarget } from "../target/resolve.js";
import { exactSource } from "../target/source.js";
import { prepareTree } from "../target/tree.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { parseCommand, targetRequest } from "./args.js";

export const targetHelp = `usage: klp target [--kernel ${DEFAULT_KERNEL}] [--source DIR] [--prepare | --fetch-source] [--json]

Show the target kernel as klpkit resolves it: its Debian image package and version, the exact
source it was built from, its compiler and the files klpkit reads. With --prepare, also fetch that
exact source and prepare klpkit's tree for it (what klp build does first), and learn the layouts of
its special sections. With --fetch-source, only fetch the exact source tarball and name it
(scripts/own-kernel.sh builds its own kernels from it).

exit: 0, or 1 when the exact source cannot be had, 2 bad input`;

export function targetCommand(argv: string[]): number {
  const { values } = parseCommand("target", argv, {
    kernel: { type: "string" },
    source: { type: "string" },
    prepare: { type: "boolean" },
    "fetch-source": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, []);
  if (values["help"]) {
    process.stdout.write(targetHelp + "\n");
    return 0;
  }
  const log = (s: string) => { process.stderr.write(`klp target: ${s}\n`); };
  const t = resolveTarget(targetRequest(values), log);
  const tree = values["prepare"] ? prepareTree(t, log) : undefined;
  const tarball = values["fetch-source"] && t.debian ? exactSource(t.debian, t.cacheRoot, log).tarball : undefined;
  const report = {
    release: t.release, arch: t.arch,
    ...(t.debian ? { imagePackage: t.debian.imagePackage, packageVersion: t.debian.packageVersion, installed: t.debian.installed } : { builtTree: t.builtTree }), source: t.source, compiler: t.compiler.versionText, makeVars: tree?.makeVars ?? t.compiler.makeVars,
    files: t.files, configSha256: t.config.sha256,
    ...(tarball ? { sourceTarball: tarball } : {}),
    ...(tree ? { tree: tree.dir, layouts: Object.fromEntries([...tree.layouts].map(([k, v]) => [k, { size: v.size, fields: Object.fromEntries(v.fields) }])) } : {}),
  };
  if (values["json"]) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else {
    const lines = [describeTarget(t), `  image ${t.files.vmlinuz}`, `  modules ${t.files.modulesDir}`, `  exports ${t.files.symvers}`];
    if (tarball) lines.push(`  source tarball ${tarball}`);
    if (tree) lines.push(`  tree ${tree.dir} (make ${tree.makeVars.join(" ")})`, `  layouts ${[...tree.layouts].map(([k, v]) => `${k} ${v.size}`).join(", ")}`);
    process.stdout.write(lines.join("\n") + "\n");
  }
  return 0;
}
