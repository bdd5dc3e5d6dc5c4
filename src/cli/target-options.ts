// The target options of the commands that judge or rewrite a module against the kernel's exact
// tree (`klp check`, `klp convert`): --kernel V, or --source DIR, never both. The target is
// resolved here once and handed down with its prepared tree.
import { badInput } from "../errors.js";
import { resolveTarget } from "../target/resolve.js";
import { DEFAULT_KERNEL, type Target } from "../target/target.js";
import { prepareTree, type PreparedTree } from "../target/tree.js";
import { targetRequest, type Parsed } from "./args.js";

export const TARGET_OPTIONS = {
  kernel: { type: "string" },
  source: { type: "string" },
} as const;

export const TARGET_OPTIONS_HELP = `  --kernel V    target kernel release (default: ${DEFAULT_KERNEL})
  --source DIR  a kernel you built (vmlinux, System.map, Module.symvers in DIR) as the target; or
                a prepared tree to compile the default kernel's objects in instead of klpkit's
                tree of the exact Debian source (klp works in a copy; DIR is never written)`;

/** The target `values` name, and its prepared tree; bad input when both options are given. */
export function commandTarget(command: string, values: Parsed["values"], log: (s: string) => void): { target: Target; tree: PreparedTree } {
  if (values["source"] !== undefined && values["kernel"] !== undefined) {
    throw badInput(undefined, `${command}: give --kernel or --source, not both (see klp ${command} --help)`);
  }
  const target = resolveTarget(targetRequest(values), log);
  return { target, tree: prepareTree(target, log) };
}
