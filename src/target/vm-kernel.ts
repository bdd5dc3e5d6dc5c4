// The target as the VM boots it: its image, its modules and where its unpacked image is cached.
import type { VmKernel } from "../vm/run.js";
import { targetModules } from "./modules.js";
import type { Target } from "./target.js";

export function vmKernel(t: Target): VmKernel {
  return { release: t.release, vmlinuz: t.files.vmlinuz, modules: targetModules(t), imageKey: t.id, cacheRoot: t.cacheRoot };
}
