// Running the VM: qemu-system-x86_64 with the target kernel and our initramfs, serial console on
// stdout, killed when the time limit passes. KVM when /dev/kvm can be opened, else TCG.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { badInput } from "../errors.js";

export type Accel = "kvm" | "tcg";
export const QEMU = "qemu-system-x86_64";

/** True when this process can open /dev/kvm read-write (what qemu -accel kvm needs). */
export function kvmUsable(dev = "/dev/kvm"): boolean {
  try {
    fs.closeSync(fs.openSync(dev, "r+"));
    return true;
  } catch {
    return false;
  }
}

export interface QemuConfig {
  readonly vmlinuz: string;
  readonly initrd: string;
  readonly accel: Accel;
  /** Extra kernel command-line words. */
  readonly append?: readonly string[];
  readonly memoryMb?: number;
}

export function qemuArgs(c: QemuConfig): string[] {
  const append = ["console=ttyS0", "panic=-1", "quiet", ...(c.append ?? [])].join(" ");
  return [
    "-m", String(c.memoryMb ?? 512), "-nographic", "-no-reboot", "-nic", "none",
    ...(c.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg"]),
    "-kernel", c.vmlinuz, "-initrd", c.initrd, "-append", append,
  ];
}

export interface QemuRun {
  readonly args: readonly string[];
  /** Raw serial console output (latin1). */
  readonly console: string;
  readonly stderr: string;
  readonly status: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Killed because the console passed CONSOLE_MAX bytes (a flood of messages). */
  readonly flooded: boolean;
  readonly seconds: number;
}

export const CONSOLE_MAX = 64 << 20;

/** Runs qemu to completion or until `timeoutSeconds` pass (then it is killed). */
export function runQemu(c: QemuConfig, timeoutSeconds: number): QemuRun {
  const args = qemuArgs(c);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(QEMU, args, {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: Math.round(timeoutSeconds * 1000),
    killSignal: "SIGKILL",
    maxBuffer: CONSOLE_MAX,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === "ENOENT") throw badInput(undefined, `${QEMU} not found (install qemu-system-x86)`);
  if (err && err.code !== "ETIMEDOUT" && err.code !== "ENOBUFS") throw new Error(`${QEMU} could not run: ${err.message}`);
  return {
    args,
    console: r.stdout?.toString("latin1") ?? "",
    stderr: r.stderr?.toString("utf8") ?? "",
    status: r.status,
    signal: r.signal,
    timedOut: err?.code === "ETIMEDOUT",
    flooded: err?.code === "ENOBUFS",
    seconds,
  };
}

/** qemu gave up before booting because KVM could not be used (then TCG is worth a try). */
export function kvmFailed(run: QemuRun): boolean {
  return !run.timedOut && !run.flooded && run.status !== 0 && /kvm/i.test(run.stderr) && !run.console.includes("KLPVM:");
}
