// The VM's root file system: a gzip-compressed cpio "newc" archive written by hand (no cpio
// or root privileges needed for /dev/console), holding a static busybox with its applet links,
// the modules to load, the check scripts and /init.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import zlib from "node:zlib";
import { programHeaders, PT_INTERP } from "../elf/program-headers.js";
import { badInput } from "../errors.js";

export type CpioEntry =
  | { readonly path: string; readonly kind: "dir"; readonly mode?: number }
  | { readonly path: string; readonly kind: "file"; readonly data: Buffer; readonly mode?: number }
  | { readonly path: string; readonly kind: "symlink"; readonly target: string }
  | { readonly path: string; readonly kind: "chardev"; readonly major: number; readonly minor: number; readonly mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** An uncompressed cpio newc archive of `entries`, in order (parents must come before children). */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const push = (name: string, mode: number, data: Buffer, ino: number, nlink: number, rdev: [number, number]) => {
    const nameBuf = Buffer.from(`${name}\0`, "latin1");
    const header = "070701" + [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex).join("");
    parts.push(Buffer.from(header, "latin1"), nameBuf, Buffer.alloc(pad4(header.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length)));
  };
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, "");
    if (name === "") throw new Error("cpio entry with an empty path");
    switch (e.kind) {
      case "dir": push(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), ino++, 2, [0, 0]); break;
      case "file": push(name, S_IFREG | (e.mode ?? 0o644), e.data, ino++, 1, [0, 0]); break;
      case "symlink": push(name, S_IFLNK | 0o777, Buffer.from(e.target, "latin1"), ino++, 1, [0, 0]); break;
      case "chardev": push(name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), ino++, 1, [e.major, e.minor]); break;
    }
  }
  push("TRAILER!!!", 0, Buffer.alloc(0), 0, 1, [0, 0]);
  return Buffer.concat(parts);
}

export interface Busybox {
  readonly path: string;
  readonly data: Buffer;
  readonly applets: readonly string[];
}

/** True when the ELF executable asks for a dynamic loader (PT_INTERP). */
function isDynamic(buf: Buffer): boolean {
  return programHeaders(buf).some((ph) => ph.type === PT_INTERP);
}

/** The host's static busybox (package busybox-static) and its applet names. */
export function findBusybox(file = "/bin/busybox"): Busybox {
  if (!fs.existsSync(file)) throw badInput(file, "not found: the VM needs a static busybox (install busybox-static)");
  const data = fs.readFileSync(file);
  if (isDynamic(data)) throw badInput(file, "is dynamically linked and cannot run alone in the VM (install busybox-static)");
  const r = spawnSync(file, ["--list"], { encoding: "utf8" });
  const applets = r.status === 0 ? r.stdout.split("\n").map((s) => s.trim()).filter((s) => /^[\w.[-]+$/.test(s) && s !== "busybox") : [];
  const needed = ["sh", "mount", "insmod", "cat", "grep", "usleep", "reboot", "sed"];
  const missing = needed.filter((a) => !applets.includes(a));
  if (missing.length) throw badInput(file, `busybox lacks applets the VM needs: ${missing.join(", ")}`);
  return { path: file, data, applets };
}

export interface InitramfsContents {
  readonly busybox: Busybox;
  /** The /init script. */
  readonly init: string;
  /** Other files, by absolute path in the VM. Parent directories are created. */
  readonly files: readonly { path: string; data: Buffer; mode?: number }[];
}

/** Builds the gzip-compressed initramfs image. */
export function buildInitramfs(c: InitramfsContents): Buffer {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string) => {
    const parts = p.split("/").filter((s) => s !== "");
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, kind: "dir" });
      }
    }
  };
  for (const d of ["bin", "sbin", "dev", "proc", "sys", "tmp", "root"]) dir(d);
  entries.push({ path: "dev/console", kind: "chardev", major: 5, minor: 1 });
  entries.push({ path: "dev/null", kind: "chardev", major: 1, minor: 3, mode: 0o666 });
  entries.push({ path: "bin/busybox", kind: "file", data: c.busybox.data, mode: 0o755 });
  for (const a of c.busybox.applets) entries.push({ path: `bin/${a}`, kind: "symlink", target: "busybox" });
  entries.push({ path: "init", kind: "file", data: Buffer.from(c.init, "utf8"), mode: 0o755 });
  for (const f of c.files) {
    const rel = f.path.replace(/^\/+/, "");
    dir(rel.split("/").slice(0, -1).join("/"));
    entries.push({ path: rel, kind: "file", data: f.data, mode: f.mode ?? 0o644 });
  }
  return zlib.gzipSync(cpioNewc(entries), { level: 6 });
}
