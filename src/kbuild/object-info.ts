// Which livepatch object (vmlinux or a module) a built kernel object belongs to, read from the
// command kbuild recorded for it (`.<name>.o.cmd`): modules are compiled with -DMODULE and
// -DKBUILD_MODNAME='"name"'.
import fs from "node:fs";
import path from "node:path";
import { badInput } from "../errors.js";

export function klpObjectName(tree: string, object: string): string {
  const cmd = path.join(tree, path.dirname(object), `.${path.basename(object)}.cmd`);
  if (!fs.existsSync(cmd)) throw badInput(cmd, `no kbuild command record for ${object}; was it built?`);
  const text = fs.readFileSync(cmd, "latin1");
  // `cmd_fs/binfmt_misc.o := …` until 6.2, `savedcmd_fs/binfmt_misc.o := …` since 6.3.
  const line = text.split("\n").find((l) => /^(saved)?cmd_/.test(l)) ?? "";
  if (!/(^|\s)-DMODULE(\s|$)/.test(line)) return "vmlinux";
  const m = /-DKBUILD_MODNAME=['"\\]*([A-Za-z0-9_-]+)/.exec(line);
  if (!m) throw badInput(cmd, `${object} is built for a module but names no KBUILD_MODNAME`);
  return m[1]!.replace(/-/g, "_");
}
