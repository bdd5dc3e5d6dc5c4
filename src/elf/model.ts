// A writable ELF64 relocatable object: sections and symbols refer to each other by object
// reference, so callers build or filter a model without tracking indexes; the writer numbers
// everything once.

export interface OutSymbol {
  name: string;
  value: number;
  size: number;
  bind: number;
  type: number;
  other: number;
  /** The defining section; absent for undefined symbols and those with a special `shndx`. */
  section?: OutSection;
  /** A reserved section index (SHN_ABS, SHN_COMMON, SHN_UNDEF, or an OS-specific one). */
  shndx?: number;
}

export interface OutReloc {
  offset: number;
  /** null for a relocation against symbol 0 (no symbol). */
  symbol: OutSymbol | null;
  type: number;
  addend: number;
}

export interface OutSection {
  name: string;
  type: number;
  flags: number;
  addralign: number;
  entsize: number;
  /** Contents of a section with file data. */
  data?: Uint8Array;
  /** Size of a SHT_NOBITS section. */
  nobitsSize?: number;
  /** sh_link to another section (not for RELA/GROUP: the writer sets those). */
  link?: OutSection;
  /** Raw sh_info for sections that are neither RELA nor GROUP. */
  info?: number;
  /** For SHT_RELA: the section the relocations apply to, and the entries. */
  relocs?: { target: OutSection; entries: OutReloc[] };
  /** For SHT_GROUP: the signature symbol, the group flags and the members. */
  group?: { signature: OutSymbol; flags: number; members: OutSection[] };
}

export interface OutObject {
  machine: number;
  littleEndian: boolean;
  eflags: number;
  osabi: number;
  sections: OutSection[];
  /** Symbols without the null symbol; the writer puts locals first. */
  symbols: OutSymbol[];
}
