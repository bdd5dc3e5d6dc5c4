// Argument parsing with Node's own util.parseArgs: no start-up cost, which matters because
// `klp diff` runs once per object pair (thousands of processes in a build).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { badInput } from "../errors.js";

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommand(command: string, argv: string[], options: NonNullable<ParseArgsConfig["options"]>, positionals: string[]): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    const why = (e as Error).message.split(/\.|\n/)[0];
    throw badInput(undefined, `${command}: ${why} (see klp ${command} --help)`);
  }
  if (parsed.positionals.length !== positionals.length && !parsed.values["help"]) {
    throw badInput(undefined, `${command}: expected ${positionals.length} argument(s) (${positionals.join(", ")}), got ${parsed.positionals.length} (see klp ${command} --help)`);
  }
  return parsed;
}

/**
 * What `--kernel` and `--source` ask for, as resolveTarget takes it: `--source` alone names a
 * kernel the user built (or, for a tree that is only configured, a tree for the default kernel).
 */
export function targetRequest(values: Parsed["values"]): { kernel?: string; source?: string } {
  const kernel = values["kernel"], source = values["source"];
  return { ...(typeof kernel === "string" ? { kernel } : {}), ...(typeof source === "string" ? { source } : {}) };
}
