#!/usr/bin/env node
// The `klp` command: parses arguments, runs one command, maps errors to exit codes.
import { Command, CommanderError } from "commander";
import { ExitCode, KlpError } from "../errors.js";
import { registerDiff } from "./diff.js";

let exitCode = 0;
const program = new Command("klp")
  .description("klpkit: kernel livepatches from source patches")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
registerDiff(program, (c) => { exitCode = c; });

try {
  program.parse(process.argv);
} catch (e) {
  if (e instanceof KlpError) {
    process.stderr.write(`klp: ${e.message}\n`);
    exitCode = e.code;
  } else if (e instanceof CommanderError) {
    // --help and --version are not errors; usage mistakes are bad input.
    exitCode = e.exitCode === 0 ? 0 : ExitCode.badInput;
  } else {
    process.stderr.write(`klp: internal error: ${e instanceof Error ? e.message : String(e)} (please report this with the input files)\n`);
    exitCode = 70;
  }
}
process.exitCode = exitCode;
