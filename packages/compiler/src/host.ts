/** `hostFacts`: the target byte order, `__TARGET_ARCH_*` and multiarch include dir of this machine. */
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';

/** What the BPF build needs to know about the machine it targets (the host). */
export interface HostFacts {
  /** `__TARGET_ARCH_<arch>` for bpf_tracing.h's PT_REGS macros. */
  readonly targetArch: string;
  /** `bpfel` on little-endian hosts, `bpfeb` on big-endian ones. */
  readonly bpfTarget: 'bpfel' | 'bpfeb';
  /** Debian's multiarch include dir (asm/types.h lives there), if present. */
  readonly multiarchInclude: string | undefined;
}

const ARCH: Record<string, { target: string; triplet: string }> = {
  x64: { target: 'x86', triplet: 'x86_64-linux-gnu' },
  arm64: { target: 'arm64', triplet: 'aarch64-linux-gnu' },
  arm: { target: 'arm', triplet: 'arm-linux-gnueabihf' },
  s390x: { target: 's390', triplet: 's390x-linux-gnu' },
  ppc64: { target: 'powerpc', triplet: 'powerpc64le-linux-gnu' },
  riscv64: { target: 'riscv', triplet: 'riscv64-linux-gnu' },
  loong64: { target: 'loongarch', triplet: 'loongarch64-linux-gnu' },
  mips: { target: 'mips', triplet: 'mips-linux-gnu' },
};

export function hostFacts(arch: string = process.arch): HostFacts {
  const a = ARCH[arch];
  const include = a ? `/usr/include/${a.triplet}` : undefined;
  return {
    targetArch: a?.target ?? arch,
    bpfTarget: endianness() === 'LE' ? 'bpfel' : 'bpfeb',
    multiarchInclude: include && existsSync(include) ? include : undefined,
  };
}
