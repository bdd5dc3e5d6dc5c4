#!/usr/bin/env node
// The `klp` command: picks the subcommand, runs it, maps errors to exit codes.
import { badInput, KlpError } from "../errors.js";
import { buildCommand, buildHelp } from "./build.js";
import { diffCommand, diffHelp } from "./diff.js";
import { vmTestCommand, vmTestHelp } from "./vm-test.js";

const COMMANDS: Record<string, { run: (argv: string[]) => number; help: string }> = {
  diff: { run: diffCommand, help: diffHelp },
  build: { run: buildCommand, help: buildHelp },
  "vm-test": { run: vmTestCommand, help: vmTestHelp },
};

const usage = `usage: klp <command> [options]

commands:
  diff    compare two builds of a kernel object; extract what a livepatch must carry
  build   build a livepatch module from a source patch
  vm-test boot the target kernel in qemu with a livepatch module and check it`;

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(usage + "\n");
    return 0;
  }
  const command = cmd === undefined ? undefined : COMMANDS[cmd];
  if (!command) throw badInput(undefined, cmd === undefined ? "no command given (see klp --help)" : `unknown command '${cmd}' (see klp --help)`);
  return command.run(rest);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof KlpError) {
    process.stderr.write(`klp: ${e.message}\n${e.details.map((d) => `  ${d}\n`).join("")}`);
    process.exitCode = e.code;
  } else {
    process.stderr.write(`klp: internal error: ${e instanceof Error ? e.message : String(e)} (please report this with the input files)\n`);
    process.exitCode = 70;
  }
}
