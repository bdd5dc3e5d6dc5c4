// `klp check MODULE.ko [--kernel V | --source TREE] [--json]`
import { checkModule, checkText } from "../check/check.js";
import { openModule, readLivepatchModule } from "../check/module.js";
import { ExitCode } from "../errors.js";
import { kernelSymbols, targetModules } from "../target/modules.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { parseCommand } from "./args.js";
import { commandTarget, TARGET_OPTIONS, TARGET_OPTIONS_HELP } from "./target-options.js";

export const checkHelp = `usage: klp check MODULE.ko [--kernel ${DEFAULT_KERNEL} | --source DIR] [--json]

Check a livepatch module, hand-made or generated, against the target kernel: read its
klp_patch/klp_object/klp_func structures, klp relocations, undefined symbols and modinfo, and for
each replaced function check that old_name and old_sympos pick exactly one function of the
object, that the compiler made no .isra/.constprop/.part clone of it, that it has an ftrace entry,
and that no caller inlined it (DWARF of the kernel's own object, compiled in the target's exact
tree). Every undefined symbol must be exported (its symbol namespace imported) or covered by a
valid klp relocation, and the module must say livepatch=Y and be built for the target's release.

${TARGET_OPTIONS_HELP}
  --json        print the report as JSON
exit: 0 safe, 1 unsafe (each finding with the function, the reason and what to do), 2 bad input`;

export function checkCommand(argv: string[]): number {
  const { values, positionals } = parseCommand("check", argv, {
    ...TARGET_OPTIONS,
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, ["MODULE.ko"]);
  if (values["help"]) {
    process.stdout.write(checkHelp + "\n");
    return 0;
  }
  const opened = openModule(positionals[0]!);
  const log = (s: string) => { process.stderr.write(`klp check: ${s}\n`); };
  const { target, tree } = commandTarget("check", values, log);
  const module = readLivepatchModule(opened, tree.layouts);
  const report = checkModule(module, { target, tree, kernel: kernelSymbols(target, log), modules: targetModules(target) }, log);
  process.stdout.write((values["json"] ? JSON.stringify(report, null, 2) : checkText(report)) + "\n");
  return report.verdict === "safe" ? ExitCode.patch : ExitCode.refused;
}
