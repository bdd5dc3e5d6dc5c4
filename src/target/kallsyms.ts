// The target kernel's kallsyms, in kallsyms order. Debian ships a placeholder System.map (the
// real one is in the 850 MB -dbg package), so the fallback boots the kernel itself once under
// qemu and reads /proc/kallsyms: the very list livepatch resolves `sympos` against. Cached.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { buildInitramfs, findBusybox } from "../vm/initramfs.js";
import { kernelImage } from "../vm/kernel-image.js";
import { kvmFailed, kvmUsable, runQemu, type Accel } from "../vm/qemu.js";
import { writeCacheFile } from "./cache.js";
import type { Target } from "./target.js";

/** True for Debian's placeholder System.map ("The real System.map is in the …-dbg package"). */
export function isPlaceholderSystemMap(text: string): boolean {
  return text.length < 4096 && /real System\.map is in/.test(text);
}

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
reboot -f
`;

/**
 * kallsyms text of the target (vmlinux symbols, kallsyms order, link-time addresses: the boot
 * uses nokaslr), from a real System.map or a VM boot cached per kernel and package version.
 */
export function kallsymsText(t: Target, log: (s: string) => void): { file: string; text: string } {
  const sysmap = t.files.systemMap;
  if (sysmap && fs.existsSync(sysmap)) {
    const text = fs.readFileSync(sysmap, "latin1");
    if (!isPlaceholderSystemMap(text)) return { file: sysmap, text };
  }
  const cached = path.join(t.cacheRoot, "kallsyms", `${t.id}.txt`);
  if (fs.existsSync(cached)) return { file: cached, text: fs.readFileSync(cached, "latin1") };
  const vmlinuz = t.files.vmlinuz;
  const kernel = t.release;
  log(`reading ${kernel}'s kallsyms by booting it once in qemu (System.map is a placeholder; cached afterwards)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-kallsyms-"));
  try {
    const initrd = path.join(tmp, "initramfs.gz");
    fs.writeFileSync(initrd, buildInitramfs({ busybox: findBusybox(), init: INIT, files: [] }));
    const image = kernelImage(vmlinuz, t.id, "auto", log, t.cacheRoot);
    const boot = (accel: Accel) => runQemu({ vmlinuz: image.file, initrd, accel, append: ["nokaslr"] }, 300);
    let run = boot(kvmUsable() ? "kvm" : "tcg");
    if (kvmFailed(run)) run = boot("tcg");
    const text = run.console.replace(/\r/g, "");
    const from = text.indexOf(`${BEGIN}\n`), to = text.indexOf(`\n${END}`);
    if (from < 0 || to < from) {
      throw new KlpError(ExitCode.badInput, `booting ${kernel} to read /proc/kallsyms failed${run.timedOut ? " (timed out)" : ""}`, vmlinuz, text.split("\n").slice(-5));
    }
    const symbols = text.slice(from + BEGIN.length + 1, to + 1);
    writeCacheFile(cached, symbols);
    return { file: cached, text: symbols };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
