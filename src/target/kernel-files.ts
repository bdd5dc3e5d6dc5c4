// The files of a Debian kernel klpkit reads: its image (booted, and the byte proof's reference
// for vmlinux), its config, its modules (symbols, the byte proof for module code, the VM's
// modules) and its Module.symvers (exports and their CRCs). An installed kernel is read where
// dpkg put it; any other release is fetched from the archive into the cache and unpacked there
// (`dpkg-deb -x`, `depmod -b`), so several kernels live side by side without root.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { cacheDir, writeCacheFile } from "./cache.js";
import { extractDeb, extractMember, fetchDeb, installedVersion, type DebianKernel } from "./debian.js";

export interface KernelFiles {
  /** The bootable image (bzImage). */
  readonly vmlinuz: string;
  readonly config: string;
  /** /lib/modules/<release> or its unpacked copy; holds modules.dep. */
  readonly modulesDir: string;
  readonly symvers: string;
  /** A real System.map, when the kernel has one (Debian ships a placeholder). */
  readonly systemMap?: string;
}

function fetchOrRefuse(pkg: string, version: string, root: string, why: string): string {
  const r = fetchDeb(pkg, version, cacheDir(root, "debs"));
  if ("deb" in r) return r.deb;
  throw new KlpError(ExitCode.refused, `${why}: apt-get cannot download ${pkg} ${version} (${r.why})`, undefined, [],
    { hint: "run 'apt-get update'; Debian's archive keeps older versions of a kernel line for a while (apt-cache policy " + pkg + ")" });
}

/** Unpacks the image package of `k` into the cache once; its root directory. */
function unpackedImage(k: DebianKernel, root: string, log: (s: string) => void): string {
  const dir = path.join(root, "kernels", `${k.release}_${k.packageVersion}`);
  const stamp = path.join(dir, ".klpkit-unpacked");
  const unpacked = path.join(dir, "root");
  if (fs.existsSync(stamp)) return unpacked;
  log(`fetching ${k.imagePackage} ${k.packageVersion} (not installed; unpacked into the cache, no root needed)`);
  const deb = fetchOrRefuse(k.imagePackage, k.packageVersion, root, `${k.release} is not installed`);
  fs.rmSync(unpacked, { recursive: true, force: true });
  extractDeb(deb, unpacked);
  const dep = spawnSync("depmod", ["-b", unpacked, k.release], { encoding: "utf8" });
  if (dep.status !== 0) throw new KlpError(ExitCode.badInput, `depmod -b ${unpacked} ${k.release} failed: ${(dep.stderr ?? dep.error?.message ?? "").trim()}`);
  writeCacheFile(stamp, `${k.imagePackage} ${k.packageVersion}\n`);
  return unpacked;
}

/** Module.symvers of `k`: the installed headers' own, else extracted from the headers package. */
function symversOf(k: DebianKernel, root: string, log: (s: string) => void): string {
  const headers = `linux-headers-${k.release}`;
  const installed = `/usr/src/${headers}/Module.symvers`;
  if (installedVersion(headers) === k.packageVersion && fs.existsSync(installed)) return installed;
  const out = path.join(root, "kernels", `${k.release}_${k.packageVersion}`, "Module.symvers");
  if (fs.existsSync(out)) return out;
  log(`fetching ${headers} ${k.packageVersion} for its Module.symvers`);
  const deb = fetchOrRefuse(headers, k.packageVersion, root, `the exports of ${k.release} are in ${headers}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  extractMember(deb, `./usr/src/${headers}/Module.symvers`, out);
  return out;
}

export function debianKernelFiles(k: DebianKernel, root: string, log: (s: string) => void): KernelFiles {
  const base = k.installed ? "/" : unpackedImage(k, root, log);
  const files: KernelFiles = {
    vmlinuz: path.join(base, "boot", `vmlinuz-${k.release}`),
    config: path.join(base, "boot", `config-${k.release}`),
    modulesDir: path.join(base, "lib/modules", k.release),
    symvers: symversOf(k, root, log),
  };
  for (const f of [files.vmlinuz, files.config, path.join(files.modulesDir, "modules.dep")]) {
    if (!fs.existsSync(f)) throw new KlpError(ExitCode.badInput, `${k.imagePackage} ${k.packageVersion} has no ${path.basename(f)} (expected ${f})`);
  }
  return files;
}
