// Which objects the kernel's configuration builds, as kbuild itself computes them: a Makefile
// may say `proc-y := nommu.o` and then `proc-$(CONFIG_MMU) := task_mmu.o`, so only kbuild's own
// evaluation (real-obj-y/m of scripts/Makefile.build) is right.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const PRINT_MK = `include $(srctree)/scripts/Makefile.build
klp-print-objs:
\t@echo OBJS $(patsubst $(obj)/%,%,$(real-obj-y) $(real-obj-m))
\t@echo DIRS $(patsubst $(obj)/%,%,$(subdir-ym))
`;

/**
 * Top-level directories kbuild compiles no kernel object from (certs/ is compiled: it holds
 * system_keyring.c). arch/ holds one architecture that is compiled and others that are not.
 */
export const NOT_COMPILED: ReadonlySet<string> = new Set(["Documentation", "LICENSES", "samples", "scripts", "tools", "usr", "debian", ".git"]);

export class ConfiguredObjects {
  private readonly cache = new Map<string, { objs: Set<string>; dirs: Set<string> } | null>();
  private mk: string | undefined;

  /** `srcArch`: the kernel's architecture directory (x86, arm64): the only one under arch/ it visits. */
  constructor(private readonly tree: string, private readonly srcArch: string) {}

  private listing(dir: string) {
    if (this.cache.has(dir)) return this.cache.get(dir)!;
    if (!this.mk) {
      this.mk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "klp-kbuild-")), "print-objs.mk");
      fs.writeFileSync(this.mk, PRINT_MK);
    }
    const r = spawnSync("make", ["-s", "-f", this.mk, "srctree=.", "objtree=.", `src=${dir}`, `obj=${dir}`, "KBUILD_BUILTIN=1", "KBUILD_MODULES=1", "klp-print-objs"],
      { cwd: this.tree, encoding: "utf8" });
    const out = r.stdout ?? "";
    const words = (tag: string) => new Set((new RegExp(`^${tag} (.*)$`, "m").exec(out)?.[1] ?? "").split(/\s+/).filter(Boolean).map((w) => w.replace(/\/$/, "")));
    const v = r.status === 0 ? { objs: words("OBJS"), dirs: words("DIRS") } : null;
    this.cache.set(dir, v);
    return v;
  }

  /**
   * True when the configuration builds `object` (e.g. fs/proc/task_mmu.o), into vmlinux or a
   * module. The Makefile that lists it may sit higher up: arch/x86/kvm/Makefile lists
   * vmx/vmx.o for kvm-intel.ko, and arch/x86/kvm/vmx/ has no Makefile of its own.
   */
  builds(object: string): boolean {
    const parts = path.dirname(object).split("/");
    for (let depth = parts.length; depth >= 1; depth--) {
      const dir = parts.slice(0, depth).join("/");
      const own = this.listing(dir);
      if (!own) continue;
      if (!own.objs.has(path.relative(dir, object))) return false;
      return this.visited(parts.slice(0, depth));
    }
    return false;
  }

  /**
   * Every directory on the way down must be visited: fs/ lists proc/ only with CONFIG_PROC_FS. A
   * directory may be listed by any ancestor, not only its parent: drivers/Makefile says
   * `obj-y += char/ipmi/` and drivers/char/Makefile never names ipmi. A directory without a kbuild
   * Makefile (arch/) is passed: the top-level Makefile visits arch/x86/ itself, and no other
   * architecture's directory (arch/alpha/mm/Makefile lists fault.o for every configuration).
   */
  private visited(parts: readonly string[]): boolean {
    const memo = new Map<number, boolean>();
    const reached = (depth: number): boolean => {
      if (depth === 0) return true;
      // arch/ has no kbuild Makefile: the top-level Makefile visits arch/<SRCARCH>/ alone.
      if (parts[0] === "arch" && depth <= 2) return depth === 2 && parts[1] === this.srcArch;
      if (depth === 1) return true;
      const known = memo.get(depth);
      if (known !== undefined) return known;
      let ok = false;
      for (let a = depth - 1; a >= 1 && !ok; a--) {
        const ancestor = this.listing(parts.slice(0, a).join("/"));
        if (!ancestor) { ok = a === depth - 1 && reached(a); continue; }
        ok = ancestor.dirs.has(parts.slice(a, depth).join("/")) && reached(a);
      }
      memo.set(depth, ok);
      return ok;
    };
    return reached(parts.length);
  }
}
