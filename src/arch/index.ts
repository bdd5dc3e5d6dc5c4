import { EM_AARCH64, EM_X86_64 } from "../elf/constants.js";
import { aarch64 } from "./aarch64.js";
import type { Arch } from "./types.js";
import { x86_64 } from "./x86_64.js";

export type { Arch, CodeView, KnownLayout } from "./types.js";

const MACHINE_NAMES = new Map([[EM_X86_64, "x86-64"], [EM_AARCH64, "AArch64"], [3, "i386"], [40, "ARM"], [243, "RISC-V"], [21, "PowerPC64"], [22, "S/390"]]);

export function machineName(machine: number): string {
  return MACHINE_NAMES.get(machine) ?? `machine ${machine}`;
}

/** The architecture of an ELF machine number, or undefined when klpkit does not support it yet. */
export function archFor(machine: number): Arch | undefined {
  return machine === EM_X86_64 ? x86_64 : machine === EM_AARCH64 ? aarch64 : undefined;
}
