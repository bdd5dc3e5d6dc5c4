// Which file qemu boots. /boot/vmlinuz is a bzImage whose decompressor unpacks the kernel
// first: under software emulation (TCG) unpacking Debian's xz payload alone takes ~4 s, about
// half of every test boot. When the kernel has a PVH entry point (CONFIG_PVH, Xen ELF note 18)
// qemu boots the uncompressed vmlinux ELF directly, so the payload is unpacked once on the host
// and cached. Same kernel code; only the entry path (and KASLR, done by the decompressor) differ.
import { spawnSync } from "node:child_process";
import { programHeaders, PT_NOTE } from "../elf/program-headers.js";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

export type BootEntry = "pvh" | "bzimage";

export interface KernelImage {
  /** What qemu's -kernel gets. */
  readonly file: string;
  readonly entry: BootEntry;
  /** Why the bzImage is booted, when it is. */
  readonly note?: string;
}

/** The compressed payload of a bzImage (without the 4-byte size the kernel build appends to it). */
type Compression = "xz" | "gzip" | "zstd" | "lz4" | "lzma";

export function bzImagePayload(buf: Buffer): { data: Buffer; size: number; format: Compression } | string {
  if (buf.length < 0x250 || buf.readUInt32LE(0x202) !== 0x53726448) return "not a bzImage (no HdrS boot header)";
  if (buf.readUInt16LE(0x206) < 0x208) return "boot protocol too old to name its payload";
  const setupSects = buf[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (length < 8 || start + length > buf.length) return "payload lies outside the file";
  const data = buf.subarray(start, start + length - 4);
  const size = buf.readUInt32LE(start + length - 4);
  const magic = data.subarray(0, 6);
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { data, size, format: "xz" };
  // kbuild appends the size to every format but gzip, whose own trailer ends with it (ISIZE).
  if (magic[0] === 0x1f && magic[1] === 0x8b) return { data: buf.subarray(start, start + length), size, format: "gzip" };
  if (magic.readUInt32LE(0) === 0xfd2fb528) return { data, size, format: "zstd" };
  // Debian's -cloud-amd64 images are lz4 (CONFIG_KERNEL_LZ4: the legacy lz4 frame).
  if (magic.readUInt32LE(0) === 0x184c2102) return { data, size, format: "lz4" };
  if (magic[0] === 0x5d && magic[1] === 0 && magic[2] === 0) return { data, size, format: "lzma" };
  return "payload compression is not xz, gzip, zstd, lz4 or lzma";
}

/** True when an ELF executable carries the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). */
export function hasPvhNote(elf: Buffer): boolean {
  for (const ph of programHeaders(elf)) {
    if (ph.type !== PT_NOTE) continue;
    const end = Math.min(elf.length, ph.offset + ph.filesz);
    for (let o = ph.offset; o + 12 <= end;) {
      const namesz = elf.readUInt32LE(o);
      const descsz = elf.readUInt32LE(o + 4);
      const type = elf.readUInt32LE(o + 8);
      const name = elf.subarray(o + 12, o + 12 + namesz).toString("latin1").replace(/\0+$/, "");
      if (name === "Xen" && type === 18) return true;
      o += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
    }
  }
  return false;
}

function decompress(p: { data: Buffer; format: Compression }): Buffer | string {
  if (p.format === "gzip") return zlib.gunzipSync(p.data);
  const tool = p.format === "lzma" ? "xz" : p.format;
  const r = spawnSync(tool, [...(p.format === "lzma" ? ["--format=lzma"] : []), "-dc"], { input: p.data, maxBuffer: 1 << 30 });
  if (r.error) return `${tool} is not available`;
  if (r.status !== 0) return `${tool} -dc failed: ${r.stderr.toString().trim()}`;
  return r.stdout;
}

/** The uncompressed kernel (an ELF executable) of a bzImage, cached under `cacheDir`/vm, or why not. */
export function unpackedVmlinux(vmlinuz: string, key: string, cacheDir: string, log: (s: string) => void): { file: string } | { why: string } {
  const st = fs.statSync(vmlinuz);
  const dir = path.join(cacheDir, "vm");
  const cached = path.join(dir, `vmlinux-${key}`);
  const stampFile = `${cached}.stamp`;
  const stamp = `${vmlinuz} ${st.size} ${Math.floor(st.mtimeMs)}\n`;
  try {
    if (fs.readFileSync(stampFile, "utf8") === stamp && fs.existsSync(cached)) return { file: cached };
  } catch { /* not cached yet */ }
  const payload = bzImagePayload(fs.readFileSync(vmlinuz));
  if (typeof payload === "string") return { why: payload };
  const elf = decompress(payload);
  if (typeof elf === "string") return { why: elf };
  if (elf.length !== payload.size) return { why: `unpacked payload has ${elf.length} bytes, the image says ${payload.size}` };
  try {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, elf);
    fs.renameSync(tmp, cached);
    fs.writeFileSync(`${stampFile}.${process.pid}.tmp`, stamp);
    fs.renameSync(`${stampFile}.${process.pid}.tmp`, stampFile);
    log(`unpacked ${vmlinuz} once into ${cached}`);
    return { file: cached };
  } catch (e) {
    return { why: `cannot cache the unpacked kernel: ${(e as Error).message}` };
  }
}

/**
 * The image to boot for `vmlinuz`: the cached uncompressed vmlinux when it has a PVH entry
 * (extracted on first use), else `vmlinuz` itself. `bzimage` forces the latter.
 */
export function kernelImage(vmlinuz: string, key: string, mode: "auto" | "bzimage", log: (s: string) => void, cacheDir: string): KernelImage {
  if (mode === "bzimage") return { file: vmlinuz, entry: "bzimage", note: "asked for" };
  const fallback = (why: string): KernelImage => {
    log(`booting ${vmlinuz} through its decompressor: ${why}`);
    return { file: vmlinuz, entry: "bzimage", note: why };
  };
  const elf = unpackedVmlinux(vmlinuz, key, cacheDir, log);
  if ("why" in elf) return fallback(elf.why);
  if (!hasPvhNote(fs.readFileSync(elf.file))) return fallback("the kernel has no PVH entry point (CONFIG_PVH)");
  return { file: elf.file, entry: "pvh" };
}
