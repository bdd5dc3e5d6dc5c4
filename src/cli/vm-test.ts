// `klp vm-test MODULE.ko [--kernel V] [--preload MOD ...] [--postload MOD ...] [--check SCRIPT] [--timeout S] [--expect-warn REGEX] [--json]`
import { badInput } from "../errors.js";
import { vmTestText } from "../vm/report.js";
import { resolveTarget } from "../target/resolve.js";
import { DEFAULT_KERNEL } from "../target/target.js";
import { vmKernel } from "../target/vm-kernel.js";
import { DEFAULT_TIMEOUT_SECONDS, runVmTest } from "../vm/run.js";
import { parseCommand, targetRequest } from "./args.js";

export const vmTestHelp = `usage: klp vm-test MODULE.ko [--kernel ${DEFAULT_KERNEL} | --source TREE] [--preload MOD ...] [--postload MOD ...]
                   [--check SCRIPT] [--timeout S] [--expect-warn REGEX] [--json]

Boot the target kernel in qemu with a busybox initramfs, load the livepatch, wait until it is
enabled and its transition has finished, load the --postload modules (late module patching),
run the check scripts, and scan the console for Oops, BUG, WARNING, panic, GPF and call traces.

  --kernel V           kernel release (default: ${DEFAULT_KERNEL}): its image and modules, from
                       /boot and /lib/modules, or fetched into klpkit's cache when not installed
  --source TREE        a kernel you built: boot its own bzImage with its own modules
  --preload MOD        module of the kernel's tree to load before the livepatch (with its
                       dependencies); repeat or give a comma list
  --postload MOD       module to load after the livepatch is enabled; repeat or comma list
  --check SCRIPT       shell script run in the VM with busybox sh ($KLP_LIVEPATCH = patch name);
                       exit status 0 passes; repeatable
  --timeout S          time limit for the whole VM run, seconds (default: ${DEFAULT_TIMEOUT_SECONDS})
  --expect-warn REGEX  a WARNING matching REGEX must appear, and is not a failure; repeatable
  --accel A            auto (KVM when /dev/kvm is usable), kvm or tcg (default: auto)
  --bzimage            boot the kernel's vmlinuz through its own decompressor (default: the same
                       kernel unpacked once and cached, booted by its PVH entry: ~2x faster
                       under TCG)
  --console FILE       save the whole serial console to FILE
  --json               print the report as JSON
exit: 0 every step passed and the console is clean, 1 test failed, 2 bad input`;

function list(v: unknown): string[] {
  const raw = Array.isArray(v) ? (v as string[]) : typeof v === "string" ? [v] : [];
  return raw.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

export function vmTestCommand(argv: string[]): number {
  const { values, positionals } = parseCommand("vm-test", argv, {
    kernel: { type: "string" },
    source: { type: "string" },
    preload: { type: "string", multiple: true },
    postload: { type: "string", multiple: true },
    check: { type: "string", multiple: true },
    timeout: { type: "string", default: String(DEFAULT_TIMEOUT_SECONDS) },
    "expect-warn": { type: "string", multiple: true },
    accel: { type: "string", default: "auto" },
    bzimage: { type: "boolean" },
    console: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, ["MODULE.ko"]);
  if (values["help"]) {
    process.stdout.write(vmTestHelp + "\n");
    return 0;
  }
  const timeoutText = values["timeout"] as string;
  const timeoutSeconds = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) : NaN;
  if (!(timeoutSeconds > 0)) throw badInput(undefined, `vm-test: --timeout must be a positive number of seconds, not '${timeoutText}'`);
  const accel = values["accel"] as string;
  if (accel !== "auto" && accel !== "kvm" && accel !== "tcg") throw badInput(undefined, `vm-test: --accel must be auto, kvm or tcg, not '${accel}'`);
  const json = values["json"] === true;
  const log = (s: string) => { process.stderr.write(`klp vm-test: ${s}\n`); };
  const module = positionals[0]!;
  if (!module.endsWith(".ko")) throw badInput(module, "not a kernel module (expected a .ko file)");
  const target = resolveTarget(targetRequest(values), log);
  const r = runVmTest({
    module,
    kernel: vmKernel(target),
    preload: list(values["preload"]),
    postload: list(values["postload"]),
    checks: ((values["check"] as string[] | undefined) ?? []),
    timeoutSeconds,
    expectWarn: ((values["expect-warn"] as string[] | undefined) ?? []),
    accel,
    bzimage: values["bzimage"] === true,
    ...(values["console"] ? { consoleFile: values["console"] as string } : {}),
  }, log);
  process.stdout.write((json ? JSON.stringify(r, null, 2) : vmTestText(r)) + "\n");
  return r.exitCode;
}
