#!/usr/bin/env node
// The `klp` command: picks the subcommand, runs it, maps errors to exit codes. Each command's
// module is loaded only when it runs: `klp diff` runs once per object pair and must not pay for
// what `klp build` and `klp vm-test` load (node:crypto, child_process, zlib, the VM harness).
import { setFlagsFromString } from "node:v8";
import { badInput, KlpError, refusalLine } from "../errors.js";
import { writeAll } from "./write.js";

type Command = (argv: string[]) => number;

const COMMANDS: Record<string, () => Promise<Command>> = {
  diff: async () => (await import("./diff.js")).diffCommand,
  build: async () => (await import("./build.js")).buildCommand,
  "vm-test": async () => (await import("./vm-test.js")).vmTestCommand,
  target: async () => (await import("./target.js")).targetCommand,
  check: async () => (await import("./check.js")).checkCommand,
  convert: async () => (await import("./convert.js")).convertCommand,
};

const usage = `usage: klp <command> [options]

commands:
  diff    compare two builds of a kernel object; extract what a livepatch must carry
  build   build a livepatch module from a source patch
  vm-test boot the target kernel in qemu with a livepatch module and check it
  target  show (and with --prepare, prepare) the target kernel and its exact source
  check   check a livepatch module (hand-made or generated) against the target kernel
  convert turn a hand-made livepatch's references to unexported symbols into klp relocations`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(usage + "\n");
    return 0;
  }
  const load = cmd === undefined ? undefined : COMMANDS[cmd];
  if (!load) throw badInput(undefined, cmd === undefined ? "no command given (see klp --help)" : `unknown command '${cmd}' (see klp --help)`);
  return (await load())(rest);
}

/**
 * An error as JSON on stdout for `klp build --json` callers (the same data the text shows). `klp
 * diff` keeps its contract: on bad input, one line on stderr and nothing on stdout.
 */
const JSON_ERRORS = new Set(["build"]);

function errorJson(e: KlpError): string {
  return JSON.stringify({ exitCode: e.code, error: e.message, refused: e.refusals, ...(e.hint ? { hint: e.hint } : {}), details: e.details }, null, 2);
}

const argv = process.argv.slice(2);

function fail(e: unknown) {
  if (e instanceof KlpError) {
    const lines = [...e.refusals.map(refusalLine), ...e.details, ...(e.hint ? [`hint: ${e.hint}`] : [])];
    writeAll(2, `klp: ${e.message}\n${lines.map((d) => `  ${d}\n`).join("")}`);
    if (JSON_ERRORS.has(argv[0] ?? "") && argv.includes("--json")) writeAll(1, errorJson(e) + "\n");
    process.exitCode = e.code;
  } else {
    writeAll(2, `klp: internal error: ${e instanceof Error ? e.message : String(e)} (please report this with the input files)\n`);
    process.exitCode = 70;
  }
}

/** `klp diff`: a short process, run once per object pair, tuned for that. */
const perPair = argv[0] === "diff";
// No optimising compiler: a run is too short to repay TurboFan's compiles, which take the second
// core. Over the 240 pairs of bench/, each timed in turn with and without it: 1.4 ms less per pair
// (median), fs/ext4/super.o 403 → 365 ms. Set before the command's bundle loads, so that its code
// cache is made and used under the same flags.
if (perPair) setFlagsFromString("--max-opt=2");
// It leaves through process.exit(): its output is written synchronously (writeAll), and ending
// the event loop instead frees the whole environment and heap first, for nothing.
main(argv).then((code) => {
  process.exitCode = code;
  if (perPair) process.exit();
}, (e: unknown) => {
  fail(e);
  if (perPair) process.exit();
});
