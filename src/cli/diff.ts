// `klp diff ORIG.o PATCHED.o [-o OUT.o] [--json]`
import type { Command } from "commander";
import { runDiff } from "../diff.js";
import { diffJson, diffText } from "../report/diff-report.js";

export function registerDiff(program: Command, setExit: (code: number) => void) {
  program
    .command("diff")
    .description("compare two builds of one kernel object and extract what a livepatch must carry")
    .argument("<orig>", "original object (the running kernel's build)")
    .argument("<patched>", "patched object")
    .option("-o, --output <file>", "write the livepatch object here")
    .option("--json", "print the result as JSON")
    .action((orig: string, patched: string, opts: { output?: string; json?: boolean }) => {
      const r = runDiff(orig, patched, opts.output ? { output: opts.output } : {});
      process.stdout.write((opts.json ? JSON.stringify(diffJson(r), null, 2) : diffText(r)) + "\n");
      setExit(r.exitCode);
    });
}
