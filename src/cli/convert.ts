// `klp convert IN.ko -o OUT.ko [--kernel V | --source TREE] [--json]`
import { convertModule, convertText } from "../convert.js";
import { badInput, ExitCode } from "../errors.js";
import { kernelSymbols, targetModules } from "../target/modules.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { openModule } from "../check/module.js";
import { parseCommand } from "./args.js";
import { commandTarget, TARGET_OPTIONS, TARGET_OPTIONS_HELP } from "./target-options.js";

export const convertHelp = `usage: klp convert IN.ko -o OUT.ko [--kernel ${DEFAULT_KERNEL} | --source DIR] [--json]

Turn a hand-made livepatch module's references to symbols the target does not export into klp
relocations (.klp.sym.<object>.<name>,<sympos> in .klp.rela.<object>.<section>), resolved
against the target's vmlinux and the modules the livepatch patches. A name several target
symbols share is refused, listing them, unless the module says which one with
KLPKIT_SYMPOS(sym, object, pos) from include/linux/klpkit.h; those records are left out of
OUT.ko. OUT.ko is written only when it passes klp check's loading checks.

  -o OUT.ko     the converted module
${TARGET_OPTIONS_HELP}
  --json        print the report as JSON
exit: 0 written, 1 refused (each symbol with the reason and the candidates), 2 bad input`;

export function convertCommand(argv: string[]): number {
  const { values, positionals } = parseCommand("convert", argv, {
    output: { type: "string", short: "o" },
    ...TARGET_OPTIONS,
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, ["IN.ko"]);
  if (values["help"]) {
    process.stdout.write(convertHelp + "\n");
    return 0;
  }
  const output = values["output"] as string | undefined;
  if (!output) throw badInput(undefined, "convert: -o OUT.ko is required (see klp convert --help)");
  const opened = openModule(positionals[0]!); // bad input before any target work
  const log = (s: string) => { process.stderr.write(`klp convert: ${s}\n`); };
  const { target, tree } = commandTarget("convert", values, log);
  const report = convertModule(opened, output, { target, tree, kernel: kernelSymbols(target, log), modules: targetModules(target) });
  process.stdout.write((values["json"] ? JSON.stringify(report, null, 2) : convertText(report)) + "\n");
  return ExitCode.patch;
}
