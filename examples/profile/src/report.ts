/**
 * A raw profile named: each stack's frames symbolized (user frames through
 * the process's maps, ELF files and perf map, kernel frames through
 * kallsyms), as root-first folded stacks under the process's `comm`, and
 * the `--json` document.
 */
import { errnoName } from '@tsbpf/loader';
import { demangleAll } from './demangle.js';
import type { ElfSymbols } from './elf-symbols.js';
import type { FoldedStack } from './fold.js';
import { foldedName } from './fold.js';
import { processSymbols, readKernelSymbols } from './process-symbols.js';
import type { RawProfile } from './profiler.js';
import type { SymbolTable } from './symbol-table.js';
import { symbolizeKernel, symbolizeUser, type Frame, type UserSymbolSources } from './symbolize.js';

/** One stack, symbolized: root first (the process, then user frames, then kernel frames). */
export interface NamedStack {
  readonly pid: number;
  readonly comm: string;
  readonly frames: readonly Frame[];
  readonly count: number;
}

export interface NamedProfile {
  readonly stacks: NamedStack[];
  readonly samples: number;
  readonly dropped: number;
  readonly frequency: number;
  readonly seconds: number;
}

/** What names frames: per process (read while it still runs) and the kernel. */
export interface SymbolSources {
  user(pid: number): UserSymbolSources;
  readonly kernel: SymbolTable | undefined;
}

/** The live system's sources: /proc/PID/maps and friends for each process (read once), /proc/kallsyms. */
export function liveSymbolSources(): SymbolSources {
  const elfCache = new Map<string, ElfSymbols | undefined>();
  const perPid = new Map<number, UserSymbolSources>();
  return {
    user(pid) {
      let s = perPid.get(pid);
      if (!s) perPid.set(pid, (s = processSymbols(pid, elfCache)));
      return s;
    },
    kernel: readKernelSymbols(),
  };
}

function lostFrame(which: 'user' | 'kernel', error: number): Frame {
  return { name: `[${which} stack lost: ${errnoName(-error)}]`, kind: 'unknown', module: '[lost]', address: 0n };
}

/** The samples whose user or kernel stack the kernel could not keep. */
export function lostSamples(p: NamedProfile): number {
  return p.stacks.filter((s) => s.frames.some((f) => f.module === '[lost]')).reduce((n, s) => n + s.count, 0);
}

/** Names every frame of `raw` (pure given the sources and `demangle`). */
export function nameProfile(raw: RawProfile, sources: SymbolSources, demangle: (names: readonly string[]) => string[] = demangleAll): NamedProfile {
  const named = raw.stacks.map((s) => {
    const user = sources.user(s.pid);
    const frames: Frame[] = [];
    // A stack the kernel could not keep (EEXIST: its hash bucket in the stack map was taken) shows as one frame saying so.
    if (s.userError !== undefined) frames.push(lostFrame('user', s.userError));
    for (let i = s.user.length - 1; i >= 0; i--) frames.push(symbolizeUser(s.user[i]!, i > 0, user));
    if (s.kernelError !== undefined) frames.push(lostFrame('kernel', s.kernelError));
    for (let i = s.kernel.length - 1; i >= 0; i--) frames.push(symbolizeKernel(s.kernel[i]!, sources.kernel));
    return { pid: s.pid, comm: s.comm, frames, count: s.count };
  });
  const names = demangle(named.flatMap((s) => s.frames.map((f) => f.name)));
  let i = 0;
  const stacks = named.map((s) => ({ ...s, frames: s.frames.map((f) => ({ ...f, name: names[i++]! })) }));
  return {
    stacks,
    samples: stacks.reduce((n, s) => n + s.count, 0),
    dropped: raw.dropped,
    frequency: raw.frequency,
    seconds: raw.seconds,
  };
}

/** The folded stacks of a named profile, each under its process's `comm` (with the pid when `withPid`). */
export function foldedStacks(p: NamedProfile, withPid = false): FoldedStack[] {
  return p.stacks.map((s) => ({
    frames: [foldedName({ name: withPid ? `${s.comm}-${s.pid}` : s.comm, kind: 'user' }), ...s.frames.map(foldedName)],
    count: s.count,
  }));
}

/** The `--json` document: every stack with its frames (addresses in hex), heaviest first. */
export function profileJson(p: NamedProfile): object {
  return {
    samples: p.samples,
    dropped: p.dropped,
    frequency: p.frequency,
    seconds: Number(p.seconds.toFixed(3)),
    stacks: [...p.stacks]
      .sort((a, b) => b.count - a.count)
      .map((s) => ({
        pid: s.pid,
        comm: s.comm,
        count: s.count,
        frames: s.frames.map((f) => ({ name: f.name, kind: f.kind, module: f.module, address: `0x${f.address.toString(16)}` })),
      })),
  };
}
