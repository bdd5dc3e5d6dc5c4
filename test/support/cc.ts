// Compiles the C fixtures of test/fixtures/ the way kbuild compiles an x86-64 6.1 kernel object,
// with gcc-12 or clang-14, or an arm64 6.12 one (Debian's arm64 config) with
// aarch64-linux-gnu-gcc-12 or clang-16 --target=aarch64-linux-gnu. All compiler flags of the
// fixture tests live here.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./klp.js";

export type Compiler = "gcc" | "clang";
export const COMPILERS: readonly Compiler[] = ["gcc", "clang"];

/** The architectures the fixtures are built for. */
export type FixtureArch = "x86_64" | "aarch64";
export const FIXTURE_ARCHES: readonly FixtureArch[] = ["x86_64", "aarch64"];

/** The executables the fixtures are built with. */
export const CC: Record<Compiler, string> = { gcc: "gcc-12", clang: "clang-14" };

/** The cross compilers of the aarch64 fixtures: Debian's own (gcc-12-aarch64-linux-gnu, clang-16). */
const CC_AARCH64: Record<Compiler, readonly string[]> = {
  gcc: ["aarch64-linux-gnu-gcc-12"],
  clang: ["clang-16", "--target=aarch64-linux-gnu"],
};

/** binutils that read and link objects of an architecture (the host's read only x86-64 code). */
export const BINUTILS: Record<FixtureArch, { readonly objdump: string; readonly ld: string }> = {
  x86_64: { objdump: "objdump", ld: "ld" },
  aarch64: { objdump: "aarch64-linux-gnu-objdump", ld: "aarch64-linux-gnu-ld" },
};

export const fixtureInclude = path.join(repoRoot, "test/fixtures/include");

const COMMON: readonly string[] = [
  "-O2", "-c",
  "-ffunction-sections", "-fdata-sections",
  "-mfentry", "-pg",
  "-mcmodel=kernel", "-fno-pic", "-mno-red-zone",
  "-fno-strict-aliasing", "-fno-common", "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables", "-fno-jump-tables",
  // arch/x86/Makefile: kernel code never uses FP/SIMD registers. Without these clang-14
  // vectorises plain loops with SSE (seen in the init-changed fixture), which no kernel object has.
  "-mno-sse", "-mno-mmx", "-mno-sse2", "-mno-3dnow", "-mno-avx",
  "-nostdinc", "-ffreestanding",
  "-I", fixtureInclude, "-I", path.join(repoRoot, "include"),
  "-Wall",
];

/**
 * arch/arm64/Makefile and the top Makefile of 6.12 with Debian's arm64 config: no FP/SIMD
 * registers, return addresses signed (ARM64_PTR_AUTH_KERNEL: pac-ret), and the ftrace entry of
 * DYNAMIC_FTRACE_WITH_CALL_OPS: two NOPs before each function and two at its entry.
 */
const COMMON_AARCH64: readonly string[] = [
  "-O2", "-c",
  "-ffunction-sections", "-fdata-sections",
  "-fpatchable-function-entry=4,2",
  "-mgeneral-regs-only", "-mbranch-protection=pac-ret", "-fno-pie",
  "-fno-strict-aliasing", "-fno-common", "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-fno-jump-tables",
  "-nostdinc", "-ffreestanding",
  "-I", fixtureInclude, "-I", path.join(repoRoot, "include"),
  "-Wall",
];

/**
 * Kernel-like flags per compiler. clang-14 rejects `-mrecord-mcount` on x86-64 ("unsupported
 * option"), so its objects have the `call __fentry__` but no `__mcount_loc` (a clang-built kernel
 * gets __mcount_loc from objtool/recordmcount after compilation).
 */
export const KERNEL_CFLAGS: Record<Compiler, readonly string[]> = {
  gcc: [...COMMON, "-mrecord-mcount"],
  clang: [...COMMON],
};

/**
 * How one fixture is built when it reproduces another kernel's conventions (expect.json "build"):
 * other flags, another compiler version, and objtool's rewriting after the compiler, as kbuild
 * runs it on every object.
 */
export interface FixtureBuild {
  /** The compilers the case is built with (default both). */
  readonly compilers?: readonly Compiler[];
  /** Another executable for a compiler, e.g. {"clang": "clang-16"} for kCFI. */
  readonly cc?: Partial<Record<Compiler, string>>;
  /** Flags added for every compiler, and for one. */
  readonly cflags?: readonly string[];
  readonly gccCflags?: readonly string[];
  readonly clangCflags?: readonly string[];
  /** Flags of KERNEL_CFLAGS to leave out (e.g. "-mrecord-mcount" when objtool records mcount). */
  readonly removeCflags?: readonly string[];
  /** Run objtool of Debian's linux-kbuild-<kbuild> package on the object with these arguments. */
  readonly objtool?: { readonly kbuild: "6.1" | "6.12"; readonly args: readonly string[] };
}

/** objtool as Debian's kbuild packages ship it (linux-kbuild-6.1, linux-kbuild-6.12.<n>+deb12). */
export function objtoolPath(kbuild: "6.1" | "6.12"): string {
  const dirs = fs.readdirSync("/usr/lib").filter((d) => kbuild === "6.1" ? d === "linux-kbuild-6.1" : /^linux-kbuild-6\.12\.\d+\+deb12$/.test(d));
  const found = dirs.sort().map((d) => path.join("/usr/lib", d, "tools/objtool/objtool")).filter((f) => fs.existsSync(f)).pop();
  if (!found) throw new Error(`objtool of linux-kbuild-${kbuild} not found under /usr/lib (scripts/setup.sh installs it)`);
  return found;
}

/** The compilers a fixture is built with. */
export function compilersFor(build: FixtureBuild | undefined): readonly Compiler[] {
  return build?.compilers ?? COMPILERS;
}

function flagsFor(compiler: Compiler, build: FixtureBuild | undefined, arch: FixtureArch): string[] {
  const remove = new Set(build?.removeCflags ?? []);
  const own = compiler === "gcc" ? build?.gccCflags : build?.clangCflags;
  const base = arch === "aarch64" ? COMMON_AARCH64 : KERNEL_CFLAGS[compiler];
  return [...base.filter((f) => !remove.has(f)), ...(build?.cflags ?? []), ...(own ?? [])];
}

/** The compiler command (executable and leading arguments) of a build. */
function commandFor(compiler: Compiler, build: FixtureBuild | undefined, arch: FixtureArch): readonly string[] {
  if (arch === "aarch64") return CC_AARCH64[compiler];
  return [build?.cc?.[compiler] ?? CC[compiler]];
}

/**
 * Compiles `src` into the object `out` with the kernel flags of `compiler` (and the case's
 * `build`); returns the compiler's and objtool's diagnostics (warnings), throws on failure.
 *
 * The source is copied into a fresh temporary directory under the name of the directory that
 * holds it (test/fixtures/CASE/orig.c and .../patched.c both compile as `CASE.c`) and compiled
 * from there, so that both builds of a case see the same `__FILE__` and `STT_FILE` name, as the
 * two builds of one kernel source file do.
 */
export function compileFixture(src: string, out: string, compiler: Compiler, build?: FixtureBuild, arch: FixtureArch = "x86_64"): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-cc-"));
  try {
    const unit = `${path.basename(path.dirname(path.resolve(src)))}.c`;
    fs.copyFileSync(src, path.join(tmp, unit));
    const [cc, ...lead] = commandFor(compiler, build, arch) as [string, ...string[]];
    const r = spawnSync(cc, [...lead, ...flagsFor(compiler, build, arch), unit, "-o", path.resolve(out)], {
      cwd: tmp,
      encoding: "utf8",
    });
    if (r.error) throw new Error(`${cc}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${cc} ${unit} failed (status ${r.status ?? r.signal}):\n${r.stderr}`);
    if (!build?.objtool) return r.stderr ?? "";
    // The 6.12 package's objtool is a wrapper that picks the binary for $SRCARCH.
    const o = spawnSync(objtoolPath(build.objtool.kbuild), [...build.objtool.args, path.resolve(out)], {
      encoding: "utf8", env: { ...process.env, SRCARCH: "x86" },
    });
    if (o.error) throw new Error(`objtool: ${o.error.message}`);
    if (o.status !== 0) throw new Error(`objtool ${build.objtool.args.join(" ")} ${unit} failed (status ${o.status ?? o.signal}):\n${o.stderr}`);
    return (r.stderr ?? "") + (o.stderr ?? "");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
