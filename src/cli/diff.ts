// `klp diff ORIG.o PATCHED.o [-o OUT.o] [--json]`
import { runDiff } from "../diff.js";
import { diffJson, diffText } from "../report/diff-report.js";
import { parseCommand } from "./args.js";
import { writeAll } from "./write.js";

export const diffHelp = `usage: klp diff <orig.o> <patched.o> [-o OUT.o] [--json] [--ignore-init-changes] [--struct-layouts]

Compare two builds of one kernel object (built with -ffunction-sections -fdata-sections)
and extract what a livepatch must carry.

  -o, --output FILE        write the livepatch object (only when there is something to patch)
      --json               print the result as JSON
      --ignore-init-changes
                           accept changed __init/__exit code and data as taking effect at the
                           next boot: listed under "ignored" and left out, instead of refused
      --struct-layouts     when something is carried, compare the struct and union layouts of
                           the two builds (their DWARF) and refuse each one the patch changed,
                           as klp build always does
exit: 0 something to patch, 3 no functional change, 1 refused as unsafe, 2 bad input`;

export function diffCommand(argv: string[]): number {
  const { values, positionals } = parseCommand("diff", argv, {
    output: { type: "string", short: "o" },
    json: { type: "boolean" },
    "ignore-init-changes": { type: "boolean" },
    "struct-layouts": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, ["orig.o", "patched.o"]);
  if (values["help"]) {
    process.stdout.write(diffHelp + "\n");
    return 0;
  }
  const output = values["output"] as string | undefined;
  const r = runDiff(positionals[0]!, positionals[1]!, {
    ...(output ? { output } : {}),
    ignoreInitChanges: values["ignore-init-changes"] === true,
    structLayouts: values["struct-layouts"] === true,
  });
  writeAll(1, (values["json"] ? JSON.stringify(diffJson(r), null, 2) : diffText(r)) + "\n");
  return r.exitCode;
}
