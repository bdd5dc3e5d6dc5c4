// The exact source of a Debian kernel: linux-source-<line> at the image package's version. The
// installed tarball is used only when dpkg has exactly that version; any other version is
// downloaded once into the cache. There is no fallback: another version is refused.
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError } from "../errors.js";
import { cacheDir } from "./cache.js";
import { extractMember, fetchDeb, installedVersion, type DebianKernel } from "./debian.js";

export interface ExactSource {
  readonly package: string;
  readonly version: string;
  readonly tarball: string;
}

export function exactSource(k: DebianKernel, root: string, log: (s: string) => void): ExactSource {
  const line = k.sourcePackage.replace(/^linux-source-/, "");
  const member = `./usr/src/linux-source-${line}.tar.xz`;
  const installed = installedVersion(k.sourcePackage);
  const system = `/usr/src/linux-source-${line}.tar.xz`;
  const found = (tarball: string): ExactSource => ({ package: k.sourcePackage, version: k.sourceVersion, tarball });
  if (installed === k.sourceVersion && fs.existsSync(system)) return found(system);
  const cached = path.join(cacheDir(root, "sources"), `${k.sourcePackage}_${k.sourceVersion}.tar.xz`);
  if (fs.existsSync(cached)) return found(cached);
  log(`fetching ${k.sourcePackage} ${k.sourceVersion}, the exact source of ${k.release}${installed ? ` (installed: ${installed})` : ""}`);
  const r = fetchDeb(k.sourcePackage, k.sourceVersion, cacheDir(root, "debs"));
  if (!("deb" in r)) {
    throw new KlpError(ExitCode.refused,
      `the exact source of ${k.release} is ${k.sourcePackage} ${k.sourceVersion} (the version of ${k.imagePackage}), and apt-get cannot download it: ${r.why}`,
      undefined, [], { hint: `klpkit never builds a livepatch from another version${installed ? ` (the installed ${k.sourcePackage} is ${installed})` : ""}; run 'apt-get update', or give the exact tree with --source` });
  }
  extractMember(r.deb, member, cached);
  fs.rmSync(r.deb, { force: true });
  return found(cached);
}
