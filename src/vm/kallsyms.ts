// The target kernel's kallsyms, in kallsyms order. Debian ships a placeholder System.map (the
// real one is in the 850 MB -dbg package), so the fallback boots the kernel itself once under
// qemu and reads /proc/kallsyms: the very list livepatch resolves `sympos` against. Cached.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { isPlaceholderSystemMap } from "../klp/kernel-symbols.js";

const INIT = `#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev
echo 0 > /proc/sys/kernel/kptr_restrict
cat /proc/kallsyms > /dev/ttyS1
echo KLP-KALLSYMS-DONE
poweroff -f
`;

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer; timeout?: number } = {}) {
  return spawnSync(cmd, args, { ...opts, maxBuffer: 256 << 20 });
}

function makeInitramfs(dir: string): string {
  const root = path.join(dir, "root");
  for (const d of ["bin", "proc", "dev", "sys"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync("/bin/busybox", path.join(root, "bin/busybox"));
  for (const a of ["sh", "mount", "cat", "poweroff", "echo"]) fs.symlinkSync("busybox", path.join(root, "bin", a));
  fs.writeFileSync(path.join(root, "init"), INIT, { mode: 0o755 });
  const list = run("find", ["."], { cwd: root }).stdout;
  const cpio = run("cpio", ["-o", "-H", "newc", "--quiet"], { cwd: root, input: list });
  const out = path.join(dir, "initramfs.cpio");
  fs.writeFileSync(out, cpio.stdout);
  return out;
}

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
    const initrd = makeInitramfs(tmp);
    const dump = path.join(tmp, "kallsyms.txt");
    const r = run("qemu-system-x86_64", ["-m", "512", "-nographic", "-no-reboot", "-kernel", vmlinuz, "-initrd", initrd,
      "-append", "console=ttyS0 panic=-1 quiet nokaslr", "-serial", "mon:stdio", "-serial", `file:${dump}`], { timeout: 300_000 });
    const console = r.stdout?.toString("latin1") ?? "";
    if (!console.includes("KLP-KALLSYMS-DONE") || !fs.existsSync(dump)) {
      throw new KlpError(ExitCode.badInput, `booting ${kernel} to read /proc/kallsyms failed: ${console.split("\n").slice(-5).join(" | ")}`, vmlinuz);
    }
    const text = fs.readFileSync(dump, "latin1").replace(/\r/g, "");
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(`${cached}.tmp`, text);
    fs.renameSync(`${cached}.tmp`, cached);
    return { file: cached, text };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
