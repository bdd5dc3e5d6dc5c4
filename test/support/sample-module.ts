// The kernel's own sample livepatch (samples/livepatch/livepatch-sample.c: replaces
// cmdline_proc_show so /proc/cmdline reads "this has been live patched"), built against the
// headers package in a temp dir, and two variants: one fires a WARN_ONCE from the new
// function, one also patches a function of the binfmt_misc module (late module patching).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { kernelTree } from "./kernel.js";

export const KERNEL = process.env["KLP_KERNEL"] ?? "6.1.0-56-amd64";
const MEMBER = "samples/livepatch/livepatch-sample.c";
const PATCHED_LINE = `\tseq_printf(m, "%s\\n", "this has been live patched");`;
/** The message of the WARN the warn variant fires when /proc/cmdline is read. */
export const WARN_MESSAGE = "klp-vm-test: deliberate warning";
/** What /proc/sys/fs/binfmt_misc/status reads once the binfmt variant patched binfmt_misc. */
export const BINFMT_STATUS = "live patched binfmt_misc";

const OBJS_VMLINUX = "\t\t.funcs = funcs,\n\t}, { }\n};";

/** The sample plus a replacement of binfmt_misc's bm_status_read, in a second klp_object. */
function binfmtVariant(src: string): string {
  if (!src.includes(OBJS_VMLINUX)) throw new Error(`${MEMBER} has changed: its klp_object list is not '${OBJS_VMLINUX}'`);
  const fn = `#include <linux/fs.h>
static ssize_t livepatch_bm_status_read(struct file *file, char __user *buf, size_t nbytes, loff_t *ppos)
{
\tstatic const char s[] = "${BINFMT_STATUS}\\n";
\treturn simple_read_from_buffer(buf, nbytes, ppos, s, sizeof(s) - 1);
}

static struct klp_func bm_funcs[] = {
\t{
\t\t.old_name = "bm_status_read",
\t\t.new_func = livepatch_bm_status_read,
\t}, { }
};

static struct klp_object objs[] = {`;
  const objs = `\t\t.funcs = funcs,
\t}, {
\t\t.name = "binfmt_misc",
\t\t.funcs = bm_funcs,
\t}, { }
};`;
  return src.replace("static struct klp_object objs[] = {", fn).replace(OBJS_VMLINUX, objs);
}

/** The sample's source, from the target's prepared tree (its exact source, as klp build uses). */
export function sampleSource(): string {
  return fs.readFileSync(path.join(kernelTree(process.env["KLP_KERNEL"]), MEMBER), "utf8");
}

export interface SampleModules {
  readonly dir: string;
  /** livepatch-sample.ko (livepatch name livepatch_sample). */
  readonly sample: string;
  /** livepatch-warn.ko (livepatch_warn): the same patch, plus a WARN_ONCE when /proc/cmdline is read. */
  readonly warn: string;
  /** livepatch-binfmt.ko (livepatch_binfmt): the sample, plus binfmt_misc's bm_status_read. */
  readonly binfmt: string;
  remove(): void;
}

/** Builds the three modules in one kbuild run (about 4 s) in a fresh temp dir. */
export function buildSampleModules(): SampleModules {
  const src = sampleSource();
  if (!src.includes(PATCHED_LINE)) throw new Error(`${MEMBER} has changed: no line '${PATCHED_LINE}'`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "klp-sample-"));
  fs.writeFileSync(path.join(dir, "livepatch-sample.c"), src);
  fs.writeFileSync(path.join(dir, "livepatch-warn.c"), src.replace(PATCHED_LINE, `\tWARN_ONCE(1, "${WARN_MESSAGE}\\n");\n${PATCHED_LINE}`));
  fs.writeFileSync(path.join(dir, "livepatch-binfmt.c"), binfmtVariant(src));
  fs.writeFileSync(path.join(dir, "Kbuild"), "obj-m := livepatch-sample.o livepatch-warn.o livepatch-binfmt.o\n");
  const r = spawnSync("make", ["-C", `/lib/modules/${KERNEL}/build`, `M=${dir}`, "-j2", "modules"], { encoding: "utf8", maxBuffer: 16 << 20 });
  const sample = path.join(dir, "livepatch-sample.ko");
  const warn = path.join(dir, "livepatch-warn.ko");
  const binfmt = path.join(dir, "livepatch-binfmt.ko");
  if (r.status !== 0 || ![sample, warn, binfmt].every((f) => fs.existsSync(f))) {
    throw new Error(`building the sample livepatch failed:\n${`${r.stdout}${r.stderr}`.split("\n").slice(-20).join("\n")}`);
  }
  return { dir, sample, warn, binfmt, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
