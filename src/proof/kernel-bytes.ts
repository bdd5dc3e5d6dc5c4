// The running kernel's own bytes: vmlinux as the image the bootloader loads (the bzImage's
// payload, unpacked once), read by virtual address through its PT_LOAD segments; and the
// module files of the kernel's package. Link-time bytes: alternatives, static calls and ftrace
// sites are patched only at boot, so the image still holds what the linker wrote.
import fs from "node:fs";
import { PT_LOAD, programHeaders } from "../elf/program-headers.js";
import { badInput } from "../errors.js";
import type { KernelSymbol, SymbolTable } from "../target/symbols.js";

export interface VmlinuxBytes {
  /** `length` bytes at a (48-bit) address, or undefined when the image holds nothing there. */
  at(address: number, length: number): Buffer | undefined;
  /** Names of the symbols at an address. */
  namesAt(address: number): readonly string[];
  /** True when kallsyms has a symbol of that name. */
  hasName(name: string): boolean;
}

export function vmlinuxBytes(file: string, symbols: SymbolTable): VmlinuxBytes {
  const buf = fs.readFileSync(file);
  const segments = programHeaders(buf).filter((p) => p.type === PT_LOAD && p.filesz > 0);
  if (!segments.length) throw badInput(file, "no loadable segments: not an unpacked vmlinux");
  let byAddress: Map<number, string[]> | undefined;
  return {
    at(address, length) {
      for (const s of segments) {
        if (address >= s.vaddr48 && address + length <= s.vaddr48 + s.filesz) {
          const off = s.offset + (address - s.vaddr48);
          return buf.subarray(off, off + length);
        }
      }
      return undefined;
    },
    namesAt(address) {
      if (!byAddress) {
        byAddress = new Map();
        for (const s of symbols.symbols) {
          const list = byAddress.get(s.address);
          if (list) list.push(s.name); else byAddress.set(s.address, [s.name]);
        }
      }
      return byAddress.get(address) ?? [];
    },
    hasName: (name) => symbols.byName.has(name),
  };
}

export type { KernelSymbol };
