// The compiler a kernel was built with, read from its config: kbuild records
// `$(CC) --version | head -n 1` as CONFIG_CC_VERSION_TEXT, so the same first line from the
// installed compiler is the proof that it is the same compiler. Debian builds with CC=gcc-12
// ("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"); a Clang tree records "Debian clang version 19.1.7 …".
import { spawnSync } from "node:child_process";
import { ExitCode, KlpError } from "../errors.js";
import { configNumber, configString, isEnabled, type KernelConfig } from "./config.js";

export interface Compiler {
  readonly kind: "gcc" | "clang";
  /** CONFIG_CC_VERSION_TEXT, the compiler's own first line of `--version`. */
  readonly versionText: string;
  /** CONFIG_GCC_VERSION or CONFIG_CLANG_VERSION (e.g. 120200, 190107). */
  readonly version: number;
  /** The executable to run (gcc-12, clang-19). */
  readonly command: string;
  readonly lld: boolean;
  /** What every make in a tree of this kernel is given so kbuild picks the same tools. */
  readonly makeVars: readonly string[];
}

/**
 * Kconfig asks `$(RUSTC) --version` (6.12: CONFIG_RUSTC_VERSION). A kernel built without Rust
 * records 0; a rustc on this machine's PATH would change the config, so it is hidden from kbuild.
 */
function rustVars(config: KernelConfig): string[] {
  const v = config.values.get("CONFIG_RUSTC_VERSION");
  return v === "0" ? ["RUSTC=false"] : [];
}

export function compilerOf(config: KernelConfig): Compiler {
  const versionText = configString(config, "CONFIG_CC_VERSION_TEXT");
  if (!versionText) throw new KlpError(ExitCode.badInput, "the kernel config names no compiler (CONFIG_CC_VERSION_TEXT)", config.file);
  const lld = isEnabled(config, "CONFIG_LD_IS_LLD");
  if (isEnabled(config, "CONFIG_CC_IS_CLANG")) {
    const version = configNumber(config, "CONFIG_CLANG_VERSION") ?? 0;
    const major = Math.floor(version / 10000);
    // LLVM=-19 makes kbuild use clang-19, ld.lld-19, llvm-ar-19 … (Documentation/kbuild/llvm.rst).
    const llvmIas = config.values.get("CONFIG_AS_IS_LLVM") === "y" ? [] : ["LLVM_IAS=0"];
    return { kind: "clang", versionText, version, command: `clang-${major}`, lld, makeVars: [`LLVM=-${major}`, ...llvmIas, ...rustVars(config)] };
  }
  const version = configNumber(config, "CONFIG_GCC_VERSION") ?? 0;
  // The first word is how the build invoked it: "gcc-12" for Debian, "gcc" for a plain build.
  const command = /^(\S*gcc\S*)/.exec(versionText)?.[1] ?? "gcc";
  return { kind: "gcc", versionText, version, command, lld, makeVars: [`CC=${command}`, ...rustVars(config)] };
}

/** The first line of `command --version`, or why there is none. */
function installedVersionText(command: string): string | undefined {
  const r = spawnSync(command, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return (r.stdout ?? "").split("\n")[0]!.trim();
}

/**
 * Refuses unless the installed compiler is the one the kernel was built with: another version
 * generates other code, and the byte proof would fail on every function anyway.
 */
export function checkInstalledCompiler(c: Compiler, release: string): void {
  const have = installedVersionText(c.command);
  if (have === c.versionText) return;
  const pkgs = c.kind === "gcc" ? c.command : [c.command, c.command.replace("clang", "lld"), c.command.replace("clang", "llvm")].join(" ");
  const now = have === undefined ? `${c.command} is not installed` : `the installed ${c.command} says "${have}"`;
  throw new KlpError(ExitCode.refused, `${release} was built with "${c.versionText}", but ${now}`, undefined, [],
    { hint: `install the kernel's own compiler (Debian: apt-get install ${pkgs}); another compiler builds other code` });
}
