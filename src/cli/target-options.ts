// The target options of the commands that judge or rewrite a module against the kernel's exact
// tree (`klp check`, `klp convert`): --kernel V, or --source DIR, never both. The target is
// resolved here once and handed down with its prepared tree.
import { badInput } from "../errors.js";
import { resolveTarget } from "../target/resolve.js";
import { DEFAULT_KERNEL, type Target } from "../target/target.js";
import { prepareTree, type PreparedTree } from "../target/tree.js";
import type { Parsed } from "./args.js";

export const TARGET_OPTIONS = {
  kernel: { type: "string", default: DEFAULT_KERNEL },
  source: { type: "string" },
} as const;

export const TARGET_OPTIONS_HELP = `  --kernel V    target kernel release (default: ${DEFAULT_KERNEL})
  --source DIR  a prepared kernel tree to compile the kernel's objects in instead of klpkit's
                tree of the exact Debian source`;

/** The target `values` name, and its prepared tree; bad input when both options are given. */
export function commandTarget(command: string, argv: readonly string[], values: Parsed["values"], log: (s: string) => void): { target: Target; tree: PreparedTree } {
  if (values["source"] && argv.some((a) => a === "--kernel" || a.startsWith("--kernel="))) {
    throw badInput(undefined, `${command}: give --kernel or --source, not both (see klp ${command} --help)`);
  }
  const target = resolveTarget({ kernel: values["kernel"] as string, ...(values["source"] ? { source: values["source"] as string } : {}) }, log);
  return { target, tree: prepareTree(target, log) };
}
