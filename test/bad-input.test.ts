// `klp diff` on bad input: every unusable file or command line is refused with exit 2 and ONE
// line on stderr naming the file and the problem — no stack trace, nothing on stdout, and no
// OUT.o (nor a temporary) left behind when `-o` is given. The objects are compiled at test time
// from test/bad-input/*.c and then broken on purpose with the Buffer helpers of support/elf64.ts
// (which parse the ELF64 headers themselves, independently of src/elf). The whole suite runs on an
// x86-64 sample and again on the same sample cross-built for AArch64.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as E from "./support/elf64.js";
import { SAMPLE_AARCH64 } from "./support/elf64.js";
import { runKlp, type KlpRun } from "./support/klp.js";

type SampleArch = "x86_64" | "aarch64";

/** binutils of each architecture (the host's `ld` links only x86-64). */
const LD: Record<SampleArch, string> = { x86_64: "ld", aarch64: "aarch64-linux-gnu-ld" };

function suite(arch: SampleArch): void {
  const named = (what: string) => (arch === "x86_64" ? what : `${what} [aarch64]`);
  const sampleOpts = arch === "x86_64" ? {} : { cc: SAMPLE_AARCH64.cc, flags: SAMPLE_AARCH64.flags };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "klp-bad-input-"));
  const obj = (name: string) => path.join(tmp, name);

  /** sample.c built like a kernel object; its -DSAMPLE_PATCHED twin (sample_report changed); other.c. */
  let good = "", patched = "", other = "";
  let goodBuf: Buffer = Buffer.alloc(0);

  before(() => {
    good = E.compileSample("sample", obj("sample.o"), sampleOpts);
    patched = E.compileSample("sample", obj("sample-patched.o"), { ...sampleOpts, extra: ["-DSAMPLE_PATCHED"] });
    other = E.compileSample("other", obj("other.o"), sampleOpts);
    goodBuf = fs.readFileSync(good);
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function describeRun(r: KlpRun): string {
    return `exit ${r.status}\n  stderr: ${JSON.stringify(r.stderr)}\n  stdout: ${JSON.stringify(r.stdout.slice(0, 300))}`;
  }

  /** Exit 2, exactly one newline-terminated line on stderr naming every file of `named`, no stack frames. */
  function assertBadInput(r: KlpRun, ctx: string, named: readonly string[], why?: RegExp): void {
    const where = `${ctx}: ${describeRun(r)}`;
    assert.equal(r.status, 2, `exit code — ${where}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace on stderr — ${where}`);
    assert.doesNotMatch(r.stderr, /internal error/i, `internal error — ${where}`);
    assert.match(r.stderr, /^[^\n]+\n$/, `exactly one line on stderr — ${where}`);
    for (const f of named) assert.ok(r.stderr.includes(f), `stderr should name ${f} — ${where}`);
    if (why) assert.match(r.stderr, why, `stderr should give the reason (${why}) — ${where}`);
    assert.equal(r.stdout, "", `nothing on stdout — ${where}`);
  }

  /** Runs `klp diff ARGS... -o OUT.o [--json]` with OUT.o in an empty directory that must stay empty. */
  function diffExpectingBadInput(args: readonly string[], named: readonly string[], why: RegExp | undefined, json: boolean): void {
    const outDir = fs.mkdtempSync(path.join(tmp, "out-"));
    const out = path.join(outDir, "OUT.o");
    const r = runKlp(["diff", ...args, "-o", out, ...(json ? ["--json"] : [])]);
    assertBadInput(r, `klp diff ${args.join(" ")}`, named, why);
    assert.deepEqual(fs.readdirSync(outDir), [], `nothing may be written to ${outDir} (OUT.o or a temporary) — klp diff ${args.join(" ")}`);
    fs.rmSync(outDir, { recursive: true, force: true });
  }

  /** The bad file as ORIG and as PATCHED, against the good object: both must be refused naming it. */
  function refusedBothWays(bad: string, why?: RegExp): void {
    diffExpectingBadInput([bad, good], [bad], why, false);
    diffExpectingBadInput([good, bad], [bad], why, true);
  }

  /** A copy of the good object, edited by `edit` (in place, or returning a new buffer). */
  function corrupt(name: string, edit: (buf: Buffer) => Buffer | void): string {
    const buf = Buffer.from(goodBuf);
    const out = edit(buf) ?? buf;
    const file = obj(`${name}.o`);
    fs.writeFileSync(file, out);
    return file;
  }

  const truncated = (name: string, len: number, from?: Buffer) => corrupt(name, (b) => Buffer.from((from ?? b).subarray(0, len)));

  describe(named("controls: the samples themselves are good input"), () => {
    test("sample.o against itself: no functional change (exit 3)", () => {
      const r = runKlp(["diff", good, good]);
      assert.equal(r.status, 3, describeRun(r));
    });
    test("sample.o against its patched build: something to patch (exit 0), OUT.o written", () => {
      const out = obj("control-out.o");
      const r = runKlp(["diff", good, patched, "-o", out]);
      assert.equal(r.status, 0, describeRun(r));
      assert.ok(fs.existsSync(out), "OUT.o written");
    });
    test("the section-headers-first layout used for data truncation is still good input", () => {
      const moved = corrupt("shdrs-first", (b) => E.shdrsFirst(b));
      const r = runKlp(["diff", moved, good]);
      assert.equal(r.status, 3, describeRun(r));
    });
  });

  describe(named("files that are not objects"), () => {
    test("missing file", () => refusedBothWays(obj("does-not-exist.o"), /no such file|not found|does not exist/i));
    test("a directory", () => {
      const dir = obj("a-directory.o");
      fs.mkdirSync(dir);
      refusedBothWays(dir, /director/i);
    });
    test("a text file", () => {
      const f = obj("notes.o");
      fs.writeFileSync(f, "this is not an object file\njust some text\n");
      refusedBothWays(f, /not an ELF|magic/i);
    });
    test("an empty file", () => {
      const f = obj("empty.o");
      fs.writeFileSync(f, "");
      refusedBothWays(f, /empty/i);
    });
    test("ELF magic only", () => refusedBothWays(truncated("magic-only", 4)));
  });

  describe(named("truncated objects"), () => {
    test("inside e_ident (10 bytes)", () => refusedBothWays(truncated("trunc-ident", 10), /truncat|short|past the end|end of/i));
    test("inside the ELF header (40 and 63 bytes)", () => {
      refusedBothWays(truncated("trunc-ehdr-40", 40), /truncat|short|past the end|end of/i);
      refusedBothWays(truncated("trunc-ehdr-63", 63), /truncat|short|past the end|end of/i);
    });
    test("just after the ELF header", () => refusedBothWays(truncated("trunc-ehdr-64", 64)));
    test("in the middle of the section header table", () => {
      const shoff = E.ehdr(goodBuf, "e_shoff"), shnum = E.ehdr(goodBuf, "e_shnum");
      refusedBothWays(truncated("trunc-shdrs-3", shoff + 3 * E.SHDR_SIZE + 17), /truncat|past the end|end of/i);
      refusedBothWays(truncated("trunc-shdrs-mid", shoff + Math.floor(shnum / 2) * E.SHDR_SIZE + 40), /truncat|past the end|end of/i);
      refusedBothWays(truncated("trunc-shdrs-last", shoff + (shnum - 1) * E.SHDR_SIZE + 8), /truncat|past the end|end of/i);
    });
    test("in the middle of section data (gcc layout: the header table at the end goes too)", () => {
      const st = E.symtab(goodBuf);
      refusedBothWays(truncated("trunc-data-symtab", st.offset + Math.floor(st.size / 2)));
    });
    test("in the middle of section data, section headers intact", () => {
      const moved = E.shdrsFirst(goodBuf);
      for (const name of [".symtab", ".strtab", ".text.sample_sum", ".rela.text.sample_sum", ".shstrtab"]) {
        const s = E.section(moved, name);
        const file = truncated(`trunc-mid${name}`, s.offset + Math.max(1, Math.floor(s.size / 2)), moved);
        refusedBothWays(file, /past the end|truncat|end of/i);
      }
    });
  });

  describe(named("corrupted objects"), () => {
    test("e_shoff past the end of the file", () => {
      refusedBothWays(corrupt("shoff-past-end", (b) => E.setEhdr(b, "e_shoff", b.length + 4096)), /section header|past the end|e_shoff/i);
      refusedBothWays(corrupt("shoff-huge", (b) => E.setEhdr(b, "e_shoff", 0xffffffffffffff00n)));
    });
    test("e_shnum larger than the table", () => {
      refusedBothWays(corrupt("shnum-too-big", (b) => E.setEhdr(b, "e_shnum", E.ehdr(b, "e_shnum") + 50)));
    });
    test("e_shentsize not 64", () => refusedBothWays(corrupt("shentsize", (b) => E.setEhdr(b, "e_shentsize", 32))));
    test("e_shstrndx out of range", () => {
      refusedBothWays(corrupt("shstrndx-range", (b) => E.setEhdr(b, "e_shstrndx", E.ehdr(b, "e_shnum") + 5)), /shstrndx|string table|range/i);
      refusedBothWays(corrupt("shstrndx-ffff", (b) => E.setEhdr(b, "e_shstrndx", 0xfffe)));
    });
    test("e_shstrndx names a section that is not a string table", () => {
      refusedBothWays(corrupt("shstrndx-text", (b) => E.setEhdr(b, "e_shstrndx", E.section(b, ".text.sample_sum").index)));
    });
    test("a symbol's st_name past the end of the string table", () => {
      const strtabSize = E.sections(goodBuf)[E.symtab(goodBuf).link]!.size;
      refusedBothWays(corrupt("st-name-past", (b) => E.setSym(b, E.symbol(b, "sample_sum"), "st_name", strtabSize + 1000)), /name|string/i);
      refusedBothWays(corrupt("st-name-ffffffff", (b) => E.setSym(b, E.symbol(b, "sample_report"), "st_name", 0xffffffff)));
    });
    test("a section's sh_name past the end of .shstrtab", () => {
      refusedBothWays(corrupt("sh-name-past", (b) => E.setShdr(b, E.section(b, ".text.sample_sum"), "sh_name", 0x7fffffff)));
    });
    test("a symbol's section index out of range", () => {
      refusedBothWays(corrupt("st-shndx", (b) => E.setSym(b, E.symbol(b, "sample_sum"), "st_shndx", E.ehdr(b, "e_shnum") + 3)), /section|range/i);
    });
    test("a symbol extending past the end of its section", () => {
      refusedBothWays(corrupt("st-size", (b) => E.setSym(b, E.symbol(b, "sample_sum"), "st_size", 0x100000)));
    });
    test("a relocation's symbol index out of range", () => {
      const nsyms = E.symbols(goodBuf).length;
      refusedBothWays(corrupt("rela-sym", (b) => E.setRelaSym(b, E.section(b, ".rela.text.sample_sum"), 0, nsyms + 100)), /symbol|relocation/i);
      refusedBothWays(corrupt("rela-sym-max", (b) => E.setRelaSym(b, E.section(b, ".rela.text.sample_report"), 1, 0xffffffff)));
    });
    test("a relocation offset past the end of its section", () => {
      refusedBothWays(corrupt("rela-offset", (b) => {
        const rela = E.section(b, ".rela.text.sample_sum");
        E.setU(b, E.relaAt(rela, 0), 8, E.section(b, ".text.sample_sum").size + 100);
      }), /relocation|offset|past/i);
    });
    test("sh_link naming a section that does not exist", () => {
      refusedBothWays(corrupt("symtab-link", (b) => E.setShdr(b, E.symtab(b), "sh_link", E.ehdr(b, "e_shnum") + 7)), /sh_link|section|string table/i);
      refusedBothWays(corrupt("rela-link", (b) => E.setShdr(b, E.section(b, ".rela.text.sample_sum"), "sh_link", 999)), /sh_link|section|symbol table/i);
    });
    test("a RELA section's sh_info naming a section that does not exist", () => {
      refusedBothWays(corrupt("rela-info", (b) => E.setShdr(b, E.section(b, ".rela.text.sample_sum"), "sh_info", 999)), /sh_info|section/i);
    });
    test("section data past the end of the file", () => {
      refusedBothWays(corrupt("symtab-size", (b) => E.setShdr(b, E.symtab(b), "sh_size", b.length * 2)), /past the end|section|truncat/i);
      refusedBothWays(corrupt("text-offset", (b) => E.setShdr(b, E.section(b, ".text.sample_sum"), "sh_offset", b.length + 16)), /past the end|section|truncat/i);
      refusedBothWays(corrupt("strtab-offset-huge", (b) => E.setShdr(b, E.sections(b)[E.symtab(b).link]!, "sh_offset", 0xfffffffffffff000n)));
    });
    test("symbol and relocation entry sizes that are not ELF64's", () => {
      refusedBothWays(corrupt("symtab-entsize", (b) => E.setShdr(b, E.symtab(b), "sh_entsize", 16)));
      refusedBothWays(corrupt("rela-entsize", (b) => E.setShdr(b, E.section(b, ".rela.text.sample_sum"), "sh_entsize", 16)));
    });
    test("a string table whose last string is not NUL-terminated", () => {
      refusedBothWays(corrupt("strtab-unterminated", (b) => {
        const strtab = E.sections(b)[E.symtab(b).link]!;
        b[strtab.offset + strtab.size - 1] = 0x41;
      }));
    });
    test("big-endian data encoding", () => refusedBothWays(corrupt("big-endian", (b) => { b[5] = 2; })));
  });

  describe(named("objects klp diff does not handle"), () => {
    test("a 32-bit ELF object", (t) => {
      const real = obj("sample-32.o");
      const r = arch === "x86_64"
        ? spawnSync("gcc", ["-m32", "-O2", "-c", "-ffunction-sections", "-fdata-sections", "-fno-pic", path.join(E.badInputDir, "sample.c"), "-o", real], { encoding: "utf8" })
        : undefined;
      if (r?.status === 0) refusedBothWays(real, /32-bit|ELF32|class/i);
      else t.diagnostic(`no 32-bit ${arch} compiler here; using a patched EI_CLASS only`);
      refusedBothWays(corrupt("class-32", (b) => { b[4] = 1; }), /32-bit|ELF32|class/i);
    });
    test("an ELF object for a machine klpkit does not support (RISC-V) says 'unsupported machine'", () => {
      refusedBothWays(corrupt("machine-riscv", (b) => E.setEhdr(b, "e_machine", E.EM_RISCV)), /unsupported machine/i);
    });
    test("objects of two machines (x86-64 and AArch64) are refused, naming both", () => {
      const otherArch = arch === "x86_64" ? "aarch64" : "x86_64";
      const foreign = E.compileSample("sample", obj(`sample-${otherArch}.o`), otherArch === "x86_64" ? {} : { cc: SAMPLE_AARCH64.cc, flags: SAMPLE_AARCH64.flags });
      diffExpectingBadInput([good, foreign], [good, foreign], /different machines/i, false);
    });
    test("an executable (ET_EXEC) instead of a relocatable object", () => {
      const exe = obj("sample-exe");
      const ld = spawnSync(LD[arch], ["-o", exe, "-e", "sample_report", "--unresolved-symbols=ignore-all", good], { encoding: "utf8" });
      assert.equal(ld.status, 0, `ld: ${ld.stderr}`);
      assert.equal(E.ehdr(fs.readFileSync(exe), "e_type"), 2, "ET_EXEC");
      refusedBothWays(exe, /relocatable|ET_EXEC/i);
    });
    test("a shared object / PIE (/bin/true) instead of a relocatable object", () => {
      refusedBothWays(fs.realpathSync("/bin/true"), /relocatable|ET_DYN|ET_EXEC/i);
    });
    test("two objects from different source files, named both", () => {
      diffExpectingBadInput([good, other], [good, other], /different source files/i, false);
      diffExpectingBadInput([other, good], [other, good], /different source files/i, true);
      const r = runKlp(["diff", good, other]);
      assert.match(r.stderr, /sample\.c/, describeRun(r));
      assert.match(r.stderr, /other\.c/, describeRun(r));
    });
  });

  describe(named("usage errors"), () => {
    const usage = (args: string[], named: string[] = []) => {
      const r = runKlp(args);
      assertBadInput(r, `klp ${args.join(" ")}`, named);
    };
    test("no arguments", () => usage(["diff"]));
    test("one argument", () => usage(["diff", good]));
    test("three arguments", () => usage(["diff", good, good, good]));
    test("unknown option", () => usage(["diff", good, good, "--frobnicate"]));
    test("-o without a value", () => usage(["diff", good, good, "-o"]));
    test("no command, unknown command", () => {
      usage([]);
      usage(["frobnicate"]);
    });
  });

  describe(named("unwritable output"), () => {
    test("-o in a directory that does not exist", () => {
      const out = obj("no-such-dir/OUT.o");
      const r = runKlp(["diff", good, patched, "-o", out]);
      assertBadInput(r, "klp diff -o into a missing directory", [out]);
      assert.ok(!fs.existsSync(path.dirname(out)));
    });
    test("-o naming an existing directory", () => {
      const dir = fs.mkdtempSync(path.join(tmp, "out-is-dir-"));
      const r = runKlp(["diff", good, patched, "-o", dir]);
      assertBadInput(r, "klp diff -o DIRECTORY", [dir]);
      assert.deepEqual(fs.readdirSync(dir), [], "nothing written into the directory");
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith(".tmp")), [], "no temporary left beside it");
    });
  });
}

suite("x86_64");
suite("aarch64");
