// Reading an object from disk with every failure turned into a one-line, file-named error.
import { closeSync, fstatSync, openSync, readFileSync, statSync } from "node:fs";
import { archFor, machineName, type Arch } from "./arch/index.js";
import { ET_REL } from "./elf/constants.js";
import { ElfFile } from "./elf/reader.js";
import { readSparse, type SparseObject } from "./elf/sparse-read.js";
import { badInput, KlpError } from "./errors.js";
import { KObject, type KObjectOptions } from "./object/kobject.js";

/** The bytes of a kernel object, its DWARF left unread (elf/sparse-read.ts). */
export function readObjectOrFail(path: string): SparseObject {
  let fd: number | undefined;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw badInput(path, "is a directory, not an object file");
    fd = openSync(path, "r");
    const opened = fstatSync(fd);
    // A pipe (`klp diff <(…) b.o`) has no size to lay sections out in: read it as a stream.
    if (!opened.isFile()) return { buf: readFileSync(fd), unread: new Set() };
    // readFileSync's own limit, with its own error.
    if (opened.size > 2 ** 31 - 1) throw badInput(path, "cannot read (ERR_FS_FILE_TOO_LARGE)");
    return readSparse(fd, opened.size);
  } catch (e) {
    if (e instanceof KlpError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw badInput(path, "no such file");
    if (code === "EACCES") throw badInput(path, "permission denied");
    if (code) throw badInput(path, `cannot read (${code})`);
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const TYPE_NAMES = ["ET_NONE", "ET_REL", "ET_EXEC", "ET_DYN", "ET_CORE"];

/** Reads a relocatable kernel object for a supported architecture. */
export function readKernelObject(path: string, options: KObjectOptions = {}): KObject {
  const { buf, unread } = readObjectOrFail(path);
  // An executable or shared object is the wrong kind of file, whatever else is in it.
  const type = ElfFile.peekType(buf);
  if (type !== 0 && type !== ET_REL) {
    throw badInput(path, `not a relocatable object (${TYPE_NAMES[type] ?? `type ${type}`}); klp diff compares .o files built with -ffunction-sections`);
  }
  const elf = ElfFile.parse(path, buf, unread);
  const arch: Arch | undefined = archFor(elf.machine);
  if (!arch) throw badInput(path, `unsupported machine ${machineName(elf.machine)} (e_machine ${elf.machine}); klpkit supports x86-64`);
  if (!elf.symtabIndex) throw badInput(path, "object has no symbol table");
  return new KObject(elf, arch, options);
}
