// The kernel being patched, as one value: resolved once at the CLI boundary (resolve.ts) and
// passed down. Every later stage takes what it needs from it; none reads /boot, a cache path or
// a default release itself.
import { badInput } from "../errors.js";
import type { Compiler } from "./compiler.js";
import { isEnabled, type KernelConfig } from "./config.js";
import type { DebianKernel } from "./debian.js";
import type { KernelFiles } from "./kernel-files.js";

/** The kernel klpkit targets when none is named: Debian 12's 6.1.0-56-amd64 (6.1.192-2). */
export const DEFAULT_KERNEL = "6.1.0-56-amd64";

export type TargetArch = "x86_64" | "arm64";

export interface Target {
  /** `uname -r` of the kernel: 6.1.0-56-amd64, 6.12.117+deb12-amd64. */
  readonly release: string;
  readonly arch: TargetArch;
  /** What Debian says about it (image package and version, exact source version); absent for a
   * kernel the user built (builtTree). */
  readonly debian?: DebianKernel;
  /** The exact source: the source package and version the image was built from (for a built
   * tree: the tree itself and its release). */
  readonly source: { readonly package: string; readonly version: string };
  /** A tree the user gave (--source) to build in instead of klpkit's exact tree (a copy of it). */
  readonly userTree?: string;
  /** The user's own built kernel tree (--source without --kernel): the target and its source. */
  readonly builtTree?: string;
  readonly config: KernelConfig;
  readonly compiler: Compiler;
  readonly files: KernelFiles;
  /** Root of klpkit's cache (KLP_CACHE or ~/.cache/klpkit). */
  readonly cacheRoot: string;
  /** Names this kernel's own caches (kallsyms, unpacked image): release and package version. */
  readonly id: string;
}

/** A one-line description for logs and reports. */
export function describeTarget(t: Target): string {
  if (!t.debian) return `${t.release} (built tree ${t.builtTree ?? t.source.package}, ${t.compiler.versionText})`;
  return `${t.release} (${t.debian.imagePackage} ${t.debian.packageVersion}, source ${t.source.package} ${t.source.version}, ${t.compiler.versionText})`;
}

/** The architecture a kernel config is for; bad input for any other. */
export function archOf(config: KernelConfig): TargetArch {
  if (isEnabled(config, "CONFIG_X86_64")) return "x86_64";
  if (isEnabled(config, "CONFIG_ARM64")) return "arm64";
  throw badInput(config.file, "the kernel is neither x86-64 nor arm64 (no CONFIG_X86_64 or CONFIG_ARM64)");
}

/** The kernel's source directory of an architecture (SRCARCH): x86_64 code lives in arch/x86. */
export function sourceArch(arch: TargetArch): string {
  return arch === "x86_64" ? "x86" : arch;
}
