export * from "./constants.js";
export { ElfFile } from "./reader.js";
export { writeElf } from "./writer.js";
export { toModel } from "./to-model.js";
export type * from "./types.js";
export type * from "./model.js";
export { RelocSpan, RelocTable } from "./relocs.js";
