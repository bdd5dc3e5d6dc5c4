// The running kernel's bytes for the proof, from the target: the unpacked image for vmlinux,
// the kernel package's own .ko files for modules. Loaded on first use, once per build.
import { archFor } from "../arch/index.js";
import { ElfFile } from "../elf/reader.js";
import { KlpError, ExitCode } from "../errors.js";
import { KObject } from "../object/kobject.js";
import { moduleFile, targetModules } from "../target/modules.js";
import type { KernelView } from "../target/symbols.js";
import type { Target } from "../target/target.js";
import { unpackedVmlinux } from "../vm/kernel-image.js";
import { moduleBytes, type ModuleIndex } from "../vm/modules.js";
import { vmlinuxBytes, type VmlinuxBytes } from "./kernel-bytes.js";
import type { RunningKernel } from "./proof.js";

export function runningKernel(t: Target, k: KernelView, log: (s: string) => void): RunningKernel {
  let image: VmlinuxBytes | undefined;
  let index: ModuleIndex | undefined;
  const modules = new Map<string, KObject>();
  return {
    vmlinux() {
      if (image) return image;
      const elf = unpackedVmlinux(t.files.vmlinuz, t.id, t.cacheRoot, log);
      if ("why" in elf) throw new KlpError(ExitCode.badInput, `cannot read the kernel image to prove the build: ${elf.why}`, t.files.vmlinuz);
      image = vmlinuxBytes(elf.file, k.vmlinux);
      return image;
    },
    module(name) {
      const known = modules.get(name);
      if (known) return known;
      index ??= targetModules(t);
      const file = moduleFile(index, name);
      const elf = ElfFile.parse(file, moduleBytes(file));
      const arch = archFor(elf.machine);
      if (!arch) throw new KlpError(ExitCode.badInput, "unsupported machine", file);
      const ko = new KObject(elf, arch);
      modules.set(name, ko);
      return ko;
    },
  };
}
