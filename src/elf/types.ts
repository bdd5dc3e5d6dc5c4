// Plain data describing a parsed ELF64 relocatable object.

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly bind: number;
  readonly type: number;
  readonly other: number;
  /** Section index, already resolved through SHT_SYMTAB_SHNDX when st_shndx is SHN_XINDEX. */
  readonly shndx: number;
}

export interface ElfRela {
  readonly offset: number;
  readonly symbol: number;
  readonly type: number;
  readonly addend: number;
}

export interface ElfGroup {
  readonly section: number;
  readonly flags: number;
  readonly members: readonly number[];
  /** Index of the symbol that names the group (sh_info). */
  readonly signature: number;
}
