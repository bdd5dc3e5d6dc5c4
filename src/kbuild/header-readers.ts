// Which of the objects that read a patched header can compile to other code: each is preprocessed
// before and after the patch, and only those whose preprocessed text the patch reaches in code
// (translation-unit.ts) are compiled. 6.1.176's BPF_F_TEST_SKB_CHECKSUM_COMPLETE, a new #define
// in include/uapi/linux/bpf.h, is read by 1,291 .c files of 6.1 and used by one.
import fs from "node:fs";
import path from "node:path";
import { codeMayDiffer } from "./translation-unit.js";
import { type BuildTree, preprocessPair } from "./tree.js";

/**
 * Files preprocessed per run of build-pair.sh: each state of 6.1's net/core/dev.c is 6 MB, so a
 * batch holds at most about 3 GB on disk, and each run costs kbuild's descent twice (~4 s).
 */
const BATCH = 256;

export interface ReaderScreen {
  /** Objects whose code the patch may change, each with why; the others compile to the same code. */
  readonly reached: readonly { readonly object: string; readonly why: string }[];
}

export function screenHeaderReaders(tree: BuildTree, patch: string, workDir: string, objects: readonly string[],
  log: (s: string) => void): ReaderScreen {
  const reached: { object: string; why: string }[] = [];
  for (let at = 0; at < objects.length; at += BATCH) {
    const batch = objects.slice(at, at + BATCH);
    const dir = path.join(workDir, `batch-${at / BATCH}`);
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      preprocessPair(tree, patch, dir, batch);
      for (const object of batch) {
        const i = `${object.slice(0, -2)}.i`;
        const [o, p] = ["orig", "patched"].map((s) => path.join(dir, s, i));
        // fs/smb/server/asn1.c includes a header kbuild generates only as a prerequisite of asn1.o.
        const why = !fs.existsSync(o!) || !fs.existsSync(p!) ? "it does not preprocess on its own, so it is compiled"
          : codeMayDiffer(fs.readFileSync(o!, "latin1"), fs.readFileSync(p!, "latin1"));
        if (why !== undefined) reached.push({ object, why });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (objects.length > BATCH) log(`screened ${Math.min(at + BATCH, objects.length)} of ${objects.length} readers: ${reached.length} may change`);
  }
  return { reached };
}
