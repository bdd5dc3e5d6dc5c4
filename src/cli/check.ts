// `klp check MODULE.ko [--kernel V | --source TREE] [--json]`
import { checkModule, checkText } from "../check/check.js";
import { openModule, readLivepatchModule } from "../check/module.js";
import { badInput, ExitCode } from "../errors.js";
import { kernelSymbols, targetModules } from "../target/modules.js";
import { resolveTarget } from "../target/resolve.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { prepareTree } from "../target/tree.js";
import { parseCommand, targetRequest } from "./args.js";

export const checkHelp = `usage: klp check MODULE.ko [--kernel ${DEFAULT_KERNEL} | --source DIR] [--json]

Check a livepatch module, hand-made or generated, against the target kernel: read its
klp_patch/klp_object/klp_func structures, klp relocations, undefined symbols and modinfo, and for
each replaced function check that old_name and old_sympos pick exactly one function of the
object, that the compiler made no .isra/.constprop/.part clone of it, that it has an ftrace entry,
and that no caller inlined it (DWARF of the kernel's own object, compiled in the target's exact
tree). Every undefined symbol must be exported or covered by a valid klp relocation, and the
module must say livepatch=Y and be built for the target's release.

  --kernel V    target kernel release (default: ${DEFAULT_KERNEL})
  --source DIR  a kernel you built (vmlinux, System.map, Module.symvers in DIR) as the target; or
                a prepared tree to compile the default kernel's objects in instead of klpkit's
                tree of the exact Debian source (klp works in a copy; DIR is never written)
  --json        print the report as JSON
exit: 0 safe, 1 unsafe (each finding with the function, the reason and what to do), 2 bad input`;

export function checkCommand(argv: string[]): number {
  const { values, positionals } = parseCommand("check", argv, {
    kernel: { type: "string" },
    source: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, ["MODULE.ko"]);
  if (values["help"]) {
    process.stdout.write(checkHelp + "\n");
    return 0;
  }
  const file = positionals[0]!;
  if (values["source"] && argv.some((a) => a === "--kernel" || a.startsWith("--kernel="))) {
    throw badInput(undefined, "check: give --kernel or --source, not both (see klp check --help)");
  }
  const opened = openModule(file);
  const log = (s: string) => { process.stderr.write(`klp check: ${s}\n`); };
  const target = resolveTarget(targetRequest(values), log);
  const tree = prepareTree(target, log);
  const module = readLivepatchModule(opened, tree.layouts);
  const report = checkModule(module, { target, tree, kernel: kernelSymbols(target, log), modules: targetModules(target) }, log);
  process.stdout.write((values["json"] ? JSON.stringify(report, null, 2) : checkText(report)) + "\n");
  return report.verdict === "safe" ? ExitCode.patch : ExitCode.refused;
}
