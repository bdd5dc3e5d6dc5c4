// Reading an object from disk with every failure turned into a one-line, file-named error.
import { readFileSync, statSync } from "node:fs";
import { archFor, machineName, type Arch } from "./arch/index.js";
import { ET_REL } from "./elf/constants.js";
import { ElfFile } from "./elf/reader.js";
import { badInput, KlpError } from "./errors.js";
import { KObject, type KObjectOptions } from "./object/kobject.js";

export function readFileOrFail(path: string): Buffer {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw badInput(path, "is a directory, not an object file");
    return readFileSync(path);
  } catch (e) {
    if (e instanceof KlpError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw badInput(path, "no such file");
    if (code === "EACCES") throw badInput(path, "permission denied");
    if (code) throw badInput(path, `cannot read (${code})`);
    throw e;
  }
}

const TYPE_NAMES = ["ET_NONE", "ET_REL", "ET_EXEC", "ET_DYN", "ET_CORE"];

/** Reads a relocatable kernel object for a supported architecture. */
export function readKernelObject(path: string, options: KObjectOptions = {}): KObject {
  const buf = readFileOrFail(path);
  // An executable or shared object is the wrong kind of file, whatever else is in it.
  const type = ElfFile.peekType(buf);
  if (type !== 0 && type !== ET_REL) {
    throw badInput(path, `not a relocatable object (${TYPE_NAMES[type] ?? `type ${type}`}); klp diff compares .o files built with -ffunction-sections`);
  }
  const elf = ElfFile.parse(path, buf);
  const arch: Arch | undefined = archFor(elf.machine);
  if (!arch) throw badInput(path, `unsupported machine ${machineName(elf.machine)} (e_machine ${elf.machine}); klpkit supports x86-64`);
  if (!elf.symtabIndex) throw badInput(path, "object has no symbol table");
  return new KObject(elf, arch, options);
}
