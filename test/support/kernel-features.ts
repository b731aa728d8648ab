/**
 * Kernel feature probes for tests. A test that depends on what the running
 * kernel offers asks it here (a /sys fact, one of the loader's probes, or a
 * small program the kernel must accept) instead of assuming one machine's
 * quirks, and asserts what the answer implies: supported → the feature must
 * load, attach and work; not supported → the error must say so clearly.
 * `itByKernel` runs both branches' assertions under one test, so nothing is
 * skipped and a kernel that gains a feature makes its test required.
 *
 * Probes call bpf(): they need root, so they run inside tests (lazily, once
 * per process), never while vitest collects them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { it, type TestContext } from 'vitest';
import { AttachType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { Program, attachTypeSupported, programTypeSupported, queryCgroup, queryTcx, runningKernelBtf } from '@tsbpf/loader';

export interface FeatureAnswer {
  readonly supported: boolean;
  /** What the kernel said: why it is supported or not (shown in the test when it matters). */
  readonly why: string;
  /** The errno of the kernel's refusal, when a probe's load was refused. */
  readonly errno?: number;
}

/** A BTF-typed tracing program: which attach type, on which kernel function, sleepable or not. */
interface TrampolineProbe {
  readonly type: number;
  readonly attachType: number;
  readonly func: string;
  readonly sleepable: boolean;
}

const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe/type';
const BPF_F_SLEEPABLE = 1 << 4;
const EPERM = 1;
const ENOENT = 2;
const EINVAL = 22;
const ENOTSUPP = 524;
const EOPNOTSUPP = 95;

/**
 * The features tests ask about. The tracing ones name the fixture's own
 * targets (prog_types.bpf.c), so the answer is the one its programs get.
 */
const FEATURES = {
  /** kprobes and kretprobes (attachKprobe uses the kprobe PMU). */
  kprobe: () => probeFile(KPROBE_PMU, 'the kprobe PMU exists', 'no kprobe PMU (kernel built without CONFIG_KPROBES / CONFIG_KPROBE_EVENTS)'),
  /** tracefs kprobe_events (the kprobe way without the PMU). */
  'kprobe events': () => probeTracefs('kprobe_events'),
  /** tracefs uprobe_events (the uprobe way without the PMU). */
  'uprobe events': () => probeTracefs('uprobe_events'),
  /** BPF_PROG_TYPE_KPROBE loads (also for uprobes: it does not need kprobes). */
  'kprobe programs': () => probeProgramType(ProgramType.kprobe, 'kprobe'),
  fentry: () => probeTrampoline({ type: ProgramType.tracing, attachType: AttachType.trace_fentry, func: 'do_unlinkat', sleepable: false }),
  fexit: () => probeTrampoline({ type: ProgramType.tracing, attachType: AttachType.trace_fexit, func: 'do_unlinkat', sleepable: false }),
  'fentry.s': () => probeTrampoline({ type: ProgramType.tracing, attachType: AttachType.trace_fentry, func: 'do_unlinkat', sleepable: true }),
  lsm: () => probeTrampoline({ type: ProgramType.lsm, attachType: AttachType.lsm_mac, func: 'bpf_lsm_file_open', sleepable: false }),
  /** tcx (Linux 6.6+): asked read-only, by querying what loopback's tcx ingress holds (ifindex 1; nothing is attached). */
  tcx: probeTcx,
  /** netkit devices and links (Linux 6.7+, CONFIG_NETKIT): the loader's link probe (ENODEV for ifindex 0 where the kernel knows netkit, EINVAL where not). */
  netkit: () =>
    attachTypeSupported(AttachType.netkit_primary)
      ? { supported: true, why: 'BPF_LINK_CREATE knows netkit_primary (it looks for the device)' }
      : { supported: false, why: 'BPF_LINK_CREATE refuses netkit_primary with EINVAL (kernel built without CONFIG_NETKIT, or older than Linux 6.7)' },
  /** Ordered cgroup programs (Linux 6.16+): asked read-only, a cgroup hook's list has a revision (from 1; 0 before). */
  'cgroup mprog': probeCgroupMprog,
  /** TCP congestion control in BPF: the kernel's BTF has its struct_ops value type (CONFIG_BPF_JIT, CONFIG_INET). */
  'tcp struct_ops': () =>
    runningKernelBtf().findByName('bpf_struct_ops_tcp_congestion_ops', 'struct')
      ? { supported: true, why: "the kernel's BTF has struct bpf_struct_ops_tcp_congestion_ops" }
      : { supported: false, why: "the kernel's BTF has no struct bpf_struct_ops_tcp_congestion_ops (no struct_ops TCP congestion control)" },
} satisfies Record<string, () => FeatureAnswer>;

export type KernelFeature = keyof typeof FEATURES;

const answers = new Map<KernelFeature, FeatureAnswer>();

/** Asks the running kernel (once per process) whether it has `feature`. */
export function kernelHas(feature: KernelFeature): FeatureAnswer {
  let a = answers.get(feature);
  if (!a) {
    a = FEATURES[feature]();
    answers.set(feature, a);
  }
  return a;
}

function probeTracefs(file: string): FeatureAnswer {
  const root = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].find((r) => existsSync(`${r}/${file}`));
  return root
    ? { supported: true, why: `tracefs has ${root}/${file}` }
    : { supported: false, why: `no ${file} in tracefs (kernel built without it, or tracefs not mounted)` };
}

function probeFile(path: string, yes: string, no: string): FeatureAnswer {
  return existsSync(path) ? { supported: true, why: `${yes} (${path})` } : { supported: false, why: no };
}

function probeProgramType(type: number, name: string): FeatureAnswer {
  const supported = programTypeSupported(type);
  return { supported, why: `the kernel ${supported ? 'loads' : 'refuses'} a minimal ${name} program` };
}

/**
 * Loads `r0 = 0; exit` as a tracing/lsm program on `func` (the smallest
 * program a trampoline could take) and classifies the kernel's answer.
 * Anything but a known "no" is a failure of the probe, not an answer.
 */
function probeTrampoline(p: TrampolineProbe): FeatureAnswer {
  const what = `${p.type === ProgramType.lsm ? 'lsm' : p.attachType === AttachType.trace_fexit ? 'fexit' : 'fentry'}${p.sleepable ? '.s' : ''}/${p.func}`;
  const target = runningKernelBtf().findByName(p.func, 'func');
  if (!target) return { supported: false, why: `${p.func} is not in the kernel's BTF` };
  try {
    Program.load({
      type: p.type,
      expectedAttachType: p.attachType,
      attachBtfId: target.id,
      flags: p.sleepable ? BPF_F_SLEEPABLE : 0,
      name: 'tsbpf_probe',
      license: 'GPL',
      instructions: encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little'),
    }).close();
    return { supported: true, why: `the kernel loads ${what}` };
  } catch (e) {
    // SyscallError and VerifierError both carry the kernel's errno; a verifier refusal also its log.
    const { errno, log = '' } = e as { errno?: number; log?: string };
    const no = (why: string): FeatureAnswer => ({ supported: false, why, errno });
    if (errno === EPERM) return no(`the kernel refuses ${what} with EPERM although we are root (lockdown, or trampolines not allowed)`);
    if (errno === ENOTSUPP || errno === EOPNOTSUPP) return no(`the kernel has no BPF trampolines for ${what} (ENOTSUPP)`);
    if (errno === ENOENT) return no(`the kernel cannot find ${p.func} to attach ${what} (ENOENT)`);
    if (errno === EINVAL && log !== '') return no(`the verifier refuses ${what}: ${log.trim().split('\n').pop()}`);
    throw e;
  }
}

function probeTcx(): FeatureAnswer {
  try {
    queryTcx(1, 'ingress');
    return { supported: true, why: 'BPF_PROG_QUERY answers for tcx_ingress' };
  } catch (e) {
    const { errno } = e as { errno?: number };
    if (errno === EINVAL) return { supported: false, why: 'BPF_PROG_QUERY refuses tcx_ingress with EINVAL (tcx came in Linux 6.6)', errno };
    throw e;
  }
}

function probeCgroupMprog(): FeatureAnswer {
  const root = cgroup2Root();
  if (!root.ok) return { supported: false, why: 'no cgroup v2 hierarchy to ask' };
  const { revision } = queryCgroup(root.path, AttachType.cgroup_inet4_connect);
  return revision > 0
    ? { supported: true, why: `BPF_PROG_QUERY gives the cgroup hook's revision (${revision})` }
    : { supported: false, why: 'BPF_PROG_QUERY gives no revision for cgroup hooks (ordered cgroup programs came in Linux 6.16)' };
}

/** The directory of the cgroup v2 hierarchy (`/sys/fs/cgroup` on most systems, `/sys/fs/cgroup/unified` on hybrid ones). */
export function cgroup2Root(): { ok: boolean; reason: string; path: string } {
  let path = '';
  try {
    const line = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2');
    path = line?.split(' ')[1] ?? '';
  } catch {
    // no /proc: no cgroup v2 either, as far as a test can tell
  }
  return { ok: path !== '' && existsSync(`${path}/cgroup.procs`), reason: 'needs a cgroup v2 hierarchy mounted', path };
}

export interface KernelBranches {
  /** The kernel has the feature: it must load, attach and work. */
  supported(ctx: TestContext): void | Promise<void>;
  /** The kernel lacks it: the failure must say so clearly. */
  unsupported(answer: FeatureAnswer, ctx: TestContext): void | Promise<void>;
}

/**
 * One test for a kernel-dependent feature: it asks the kernel and runs the
 * branch the answer implies. Never skipped: each kernel proves one branch.
 */
export function itByKernel(feature: KernelFeature, name: string, branches: KernelBranches, timeout?: number): void {
  it(
    `${name} [asks the kernel: ${feature}]`,
    async (ctx) => {
      const answer = kernelHas(feature);
      await ctx.annotate(`${answer.supported ? 'supported' : 'not supported'}: ${answer.why}`);
      if (answer.supported) await branches.supported(ctx);
      else await branches.unsupported(answer, ctx);
    },
    timeout,
  );
}

/**
 * A test of what only a kernel with `feature` can do: it runs when the
 * kernel says it has the feature (then it is required, also under CI) and is
 * skipped with the kernel's reason otherwise. Prefer `itByKernel` when the
 * absence has an error of its own to check.
 */
export function itWhenKernel(feature: KernelFeature, name: string, fn: (ctx: TestContext) => void | Promise<void>, timeout?: number): void {
  it(
    `${name} [needs the kernel's ${feature}]`,
    async (ctx) => {
      const answer = kernelHas(feature);
      if (!answer.supported) {
        // A "no" from the kernel is an answer, not a missing requirement: not a failure under CI either.
        ctx.skip(`the kernel has no ${feature}: ${answer.why}`);
      }
      await fn(ctx);
    },
    timeout,
  );
}
