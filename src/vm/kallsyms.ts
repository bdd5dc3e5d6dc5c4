// The target kernel's kallsyms, in kallsyms order. Debian ships a placeholder System.map (the
// real one is in the 850 MB -dbg package), so the fallback boots the kernel itself once under
// qemu and reads /proc/kallsyms: the very list livepatch resolves `sympos` against. Cached.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { isPlaceholderSystemMap } from "../klp/kernel-symbols.js";
import { buildInitramfs, findBusybox } from "./initramfs.js";
import { kernelImage } from "./kernel-image.js";
import { kvmFailed, kvmUsable, runQemu, type Accel } from "./qemu.js";

const BEGIN = "KLP-KALLSYMS-BEGIN";
const END = "KLP-KALLSYMS-END";

// Only /proc/kallsyms may reach the console between the markers, so printk is silenced first.
const INIT = `#!/bin/sh
mount -t proc proc /proc
echo 1 > /proc/sys/kernel/printk
echo 0 > /proc/sys/kernel/kptr_restrict
echo ${BEGIN}
cat /proc/kallsyms
echo ${END}
poweroff -f
`;

/** kallsyms text of `kernel` (vmlinux symbols, kallsyms order), from System.map or a VM boot. */
export function kallsymsText(kernel: string, cacheDir: string, log: (s: string) => void): { file: string; text: string } {
  const sysmap = `/boot/System.map-${kernel}`;
  if (fs.existsSync(sysmap)) {
    const text = fs.readFileSync(sysmap, "latin1");
    if (!isPlaceholderSystemMap(text)) return { file: sysmap, text };
  }
  const cached = path.join(cacheDir, "kallsyms", `${kernel}.txt`);
  if (fs.existsSync(cached)) return { file: cached, text: fs.readFileSync(cached, "latin1") };
  const vmlinuz = `/boot/vmlinuz-${kernel}`;
  if (!fs.existsSync(vmlinuz)) throw new KlpError(ExitCode.badInput, `no kernel image to read symbols from (install linux-image-${kernel})`, vmlinuz);
  log(`reading ${kernel}'s kallsyms by booting it once in qemu (System.map is a placeholder; cached afterwards)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-kallsyms-"));
  try {
    const initrd = path.join(tmp, "initramfs.gz");
    fs.writeFileSync(initrd, buildInitramfs({ busybox: findBusybox(), init: INIT, files: [] }));
    const image = kernelImage(vmlinuz, kernel, "auto", log, cacheDir);
    const boot = (accel: Accel) => runQemu({ vmlinuz: image.file, initrd, accel, append: ["nokaslr"] }, 300);
    let run = boot(kvmUsable() ? "kvm" : "tcg");
    if (kvmFailed(run)) run = boot("tcg");
    const text = run.console.replace(/\r/g, "");
    const from = text.indexOf(`${BEGIN}\n`), to = text.indexOf(`\n${END}`);
    if (from < 0 || to < from) {
      throw new KlpError(ExitCode.badInput, `booting ${kernel} to read /proc/kallsyms failed${run.timedOut ? " (timed out)" : ""}`, vmlinuz, text.split("\n").slice(-5));
    }
    const symbols = text.slice(from + BEGIN.length + 1, to + 1);
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(`${cached}.tmp`, symbols);
    fs.renameSync(`${cached}.tmp`, cached);
    return { file: cached, text: symbols };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
