// Compiles the C fixtures of test/fixtures/ the way kbuild compiles an x86-64 6.1 kernel object,
// with gcc-12 or clang-14. All compiler flags of the fixture tests live here.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./klp.js";

export type Compiler = "gcc" | "clang";
export const COMPILERS: readonly Compiler[] = ["gcc", "clang"];

/** The executables the fixtures are built with. */
export const CC: Record<Compiler, string> = { gcc: "gcc-12", clang: "clang-14" };

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
 * Kernel-like flags per compiler. clang-14 rejects `-mrecord-mcount` on x86-64 ("unsupported
 * option"), so its objects have the `call __fentry__` but no `__mcount_loc` (a clang-built kernel
 * gets __mcount_loc from objtool/recordmcount after compilation).
 */
export const KERNEL_CFLAGS: Record<Compiler, readonly string[]> = {
  gcc: [...COMMON, "-mrecord-mcount"],
  clang: [...COMMON],
};

/**
 * Compiles `src` into the object `out` with the kernel flags of `compiler`; returns the
 * compiler's diagnostics (warnings), throws if compilation fails.
 *
 * The source is copied into a fresh temporary directory under the name of the directory that
 * holds it (test/fixtures/CASE/orig.c and .../patched.c both compile as `CASE.c`) and compiled
 * from there, so that both builds of a case see the same `__FILE__` and `STT_FILE` name, as the
 * two builds of one kernel source file do.
 */
export function compileFixture(src: string, out: string, compiler: Compiler): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-cc-"));
  try {
    const unit = `${path.basename(path.dirname(path.resolve(src)))}.c`;
    fs.copyFileSync(src, path.join(tmp, unit));
    const r = spawnSync(CC[compiler], [...KERNEL_CFLAGS[compiler], unit, "-o", path.resolve(out)], {
      cwd: tmp,
      encoding: "utf8",
    });
    if (r.error) throw new Error(`${CC[compiler]}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${CC[compiler]} ${unit} failed (status ${r.status ?? r.signal}):\n${r.stderr}`);
    return r.stderr ?? "";
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
