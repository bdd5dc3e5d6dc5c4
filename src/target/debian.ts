// Debian's packaging of a kernel release: which image package holds it, its version, and the
// source it was built from. The rule klpkit never breaks: a Debian kernel's source is the
// `linux-source-<major.minor>` package of the SAME version as its image package
// (linux-image-6.1.0-50-amd64 6.1.176-1 → linux-source-6.1 6.1.176-1). The signed image packages
// name it in `Built-Using: linux (= 6.1.176-1)` (or `linux-6.12 (= 6.12.117-1~deb12u1)`).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ExitCode, KlpError, badInput } from "../errors.js";

export interface DebianKernel {
  readonly release: string;
  /** linux-image-<release> (or its -unsigned twin when only that is installed). */
  readonly imagePackage: string;
  readonly packageVersion: string;
  /** The binary package that ships the kernel's source tarball: linux-source-6.1. */
  readonly sourcePackage: string;
  /** The exact source version: the version the image was built from. */
  readonly sourceVersion: string;
  /** amd64, cloud-amd64, rt-amd64: the part of the release after the ABI. */
  readonly flavour: string;
  /** True when dpkg has the image installed (its files are in /boot and /lib/modules). */
  readonly installed: boolean;
}

function run(cmd: string, args: readonly string[], cwd?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) });
  return { ok: !r.error && r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "") || (r.error?.message ?? "") };
}

/** Fields of one package stanza (`Field: value` lines). */
function stanza(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The installed package's control fields, when dpkg has it installed. */
function installedStanza(pkg: string): Map<string, string> | undefined {
  const r = run("dpkg-query", ["-W", "-f=${Status}\n${Version}\n${Built-Using}\n", pkg]);
  if (!r.ok) return undefined;
  const [status, version, builtUsing] = r.out.split("\n");
  if (!/ installed$/.test(status ?? "")) return undefined;
  return new Map([["Version", version ?? ""], ["Built-Using", builtUsing ?? ""]]);
}

/**
 * apt's binary package cache, kept in klpkit's cache: Debian's container images turn apt's own
 * off (/etc/apt/apt.conf.d/docker-clean sets Dir::Cache::pkgcache ""), and then every apt-cache
 * call parses all package lists again (10 s here with arm64 lists added; 0.1 s from the cache).
 * apt rebuilds it by itself when the lists change.
 */
function aptCacheOptions(root: string): string[] {
  const dir = path.join(root, "apt");
  fs.mkdirSync(dir, { recursive: true });
  return ["-o", `Dir::Cache::pkgcache=${path.join(dir, "pkgcache.bin")}`, "-o", `Dir::Cache::srcpkgcache=${path.join(dir, "srcpkgcache.bin")}`];
}

/** The newest stanza apt knows for each of `pkgs` that it knows, by package name (one apt-cache run). */
function archiveStanzas(pkgs: readonly string[], root: string): Map<string, Map<string, string>> {
  // apt-cache exits 100 when one of the names is unknown, and still prints the others.
  const r = run("apt-cache", [...aptCacheOptions(root), "show", "--no-all-versions", ...pkgs]);
  const out = new Map<string, Map<string, string>>();
  for (const text of r.out.split(/\n\s*\n/)) {
    const fields = stanza(text);
    const name = fields.get("Package");
    if (name && pkgs.includes(name) && !out.has(name)) out.set(name, fields);
  }
  return out;
}

/** `linux (= 6.1.176-1)` or `linux-6.12 (= 6.12.117-1~deb12u1)` in Built-Using → that version. */
function builtFromLinux(builtUsing: string | undefined): string | undefined {
  return /(?:^|,\s*)linux(?:-\d+\.\d+)? \(= ([^)]+)\)/.exec(builtUsing ?? "")?.[1];
}

/** 6.1.176-1 → linux-source-6.1; 6.12.117-1~deb12u1 → linux-source-6.12. */
export function sourcePackageFor(version: string): string {
  const m = /^(\d+\.\d+)\./.exec(version);
  if (!m) throw badInput(undefined, `cannot tell the kernel line of Debian version ${version}`);
  return `linux-source-${m[1]}`;
}

/** 6.1.0-56-amd64 → amd64; 6.12.117+deb12-cloud-amd64 → cloud-amd64. */
export function flavourOf(release: string): string {
  const m = /^\d+\.\d+\.\d+(?:-\d+|\+deb\d+)-(.+)$/.exec(release);
  return m ? m[1]! : "";
}

/** True for a release string Debian 12 ships: 6.1.0-56-amd64, 6.12.117+deb12-cloud-amd64. */
export function looksLikeDebianRelease(release: string): boolean {
  return flavourOf(release) !== "";
}

/** What Debian says about `release`: installed, or known to apt; bad input when neither. */
export function debianKernel(release: string, root: string): DebianKernel {
  if (!/^[A-Za-z0-9.+~_-]+$/.test(release)) throw badInput(undefined, `'${release}' is not a kernel release`);
  const candidates = [`linux-image-${release}`, `linux-image-${release}-unsigned`];
  for (const pkg of candidates) {
    const fields = installedStanza(pkg);
    if (fields) return describe(release, pkg, fields, true);
  }
  const known = archiveStanzas(candidates, root);
  for (const pkg of candidates) {
    const fields = known.get(pkg);
    if (fields) return describe(release, pkg, fields, false);
  }
  throw badInput(undefined, `no Debian package linux-image-${release} is installed or known to apt (run 'apt-get update', check the release with 'apt-cache search linux-image-', or give a built tree with --source)`);
}

function describe(release: string, pkg: string, fields: Map<string, string>, installed: boolean): DebianKernel {
  const packageVersion = fields.get("Version") ?? "";
  if (!packageVersion) throw badInput(undefined, `${pkg} has no version`);
  const sourceVersion = builtFromLinux(fields.get("Built-Using")) ?? packageVersion;
  return { release, imagePackage: pkg, packageVersion, sourcePackage: sourcePackageFor(sourceVersion), sourceVersion, flavour: flavourOf(release), installed };
}

/** The version of `pkg` dpkg has installed, if any. */
export function installedVersion(pkg: string): string | undefined {
  return installedStanza(pkg)?.get("Version");
}

/**
 * `pkg` at exactly `version` as a .deb in `dir` (downloaded once with `apt-get download`, which
 * needs no root), or apt's reason when the archive does not have that version.
 */
export function fetchDeb(pkg: string, version: string, dir: string): { deb: string } | { why: string } {
  fs.mkdirSync(dir, { recursive: true });
  const arch = pkg.startsWith("linux-source-") ? "all" : "amd64";
  const deb = path.join(dir, `${pkg}_${version.replace(/:/g, "%3a")}_${arch}.deb`);
  if (fs.existsSync(deb)) return { deb };
  const tmp = fs.mkdtempSync(path.join(dir, ".download-"));
  try {
    const r = run("apt-get", ["download", "-q", `${pkg}=${version}`], tmp);
    const got = fs.readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!r.ok || !got) return { why: (r.err.split("\n").find((l) => /^E:/.test(l)) ?? r.err.trim().split("\n").pop() ?? "apt-get failed").trim() };
    fs.renameSync(path.join(tmp, got), deb);
    return { deb };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Extracts one member of a .deb (e.g. ./usr/src/linux-source-6.1.tar.xz) to `out`, atomically. */
export function extractMember(deb: string, member: string, out: string): void {
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" > "$3"', "sh", deb, member, tmp], { encoding: "utf8" });
  if (r.status !== 0 || !fs.existsSync(tmp) || fs.statSync(tmp).size === 0) {
    fs.rmSync(tmp, { force: true });
    throw new KlpError(ExitCode.badInput, `cannot extract ${member}: ${(r.stderr ?? "").trim() || "not in the package"}`, deb);
  }
  fs.renameSync(tmp, out);
}

/** Unpacks a whole .deb into `root` (dpkg-deb -x: no installation, no root needed). */
export function extractDeb(deb: string, root: string): void {
  fs.mkdirSync(root, { recursive: true });
  const r = run("dpkg-deb", ["-x", deb, root]);
  if (!r.ok) throw new KlpError(ExitCode.badInput, `cannot unpack: ${r.err.trim()}`, deb);
}
