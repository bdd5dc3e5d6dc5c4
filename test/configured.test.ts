// Which objects this kernel's configuration builds, asked from kbuild in the prepared Debian tree.
// The answers were checked by hand against /boot/config-6.1.0-56-amd64 and the Makefiles.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfiguredObjects } from "../src/kbuild/configured.js";
import { kernelTree } from "./support/kernel.js";

const cases: [string, boolean, string][] = [
  ["fs/proc/cmdline.o", true, "a plain obj-y of a visited directory"],
  ["fs/proc/task_mmu.o", true, "proc-$(CONFIG_MMU) := task_mmu.o overrides proc-y := nommu.o"],
  ["fs/proc/nommu.o", false, "replaced by task_mmu.o when CONFIG_MMU=y"],
  ["fs/binfmt_misc.o", true, "obj-$(CONFIG_BINFMT_MISC) (=m)"],
  ["arch/x86/kernel/process.o", true, "arch/ has no kbuild Makefile: the top-level Makefile visits arch/x86/"],
  ["arch/x86/kvm/vmx/vmx.o", true, "listed by arch/x86/kvm/Makefile as kvm-intel-y += vmx/vmx.o (no Makefile in vmx/)"],
  ["drivers/net/wireguard/main.o", true, "a module directory visited through drivers/net/"],
  ["drivers/gpu/drm/i810/i810_dma.o", false, "CONFIG_DRM_I810 is not set"],
  ["drivers/char/ipmi/ipmi_msghandler.o", true, "drivers/Makefile lists char/ipmi/ itself (drivers/char/Makefile never names ipmi)"],
];

test("objects the configuration builds, as kbuild computes them", () => {
  const configured = new ConfiguredObjects(kernelTree());
  for (const [object, built, why] of cases) assert.equal(configured.builds(object), built, `${object}: ${why}`);
});
