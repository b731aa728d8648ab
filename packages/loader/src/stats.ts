/**
 * What programs cost: BPF_ENABLE_STATS (run time and run count, counted for
 * as long as its fd stays open), a snapshot of every program's counters,
 * and the pure arithmetic between two snapshots (CPU share, runs a second,
 * nanoseconds a run) that `tsbpf top` and the inspector show.
 */
import { readFileSync } from 'node:fs';
import { listPrograms } from './inventory.js';
import * as sys from './sys/bpf.js';

const BPF_STATS_RUN_TIME = 0;

/**
 * Run-time statistics switched on (BPF_ENABLE_STATS): while any such handle
 * (or the kernel.bpf_stats_enabled sysctl) is on, every program's run_time_ns
 * and run_cnt count. Close it to switch them off again (they cost a little
 * on every run).
 */
export class StatsHandle implements Disposable {
  private closed = false;
  constructor(private readonly fdValue: number) {}

  get fd(): number {
    return this.fdValue;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.closeFd(this.fdValue);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Switches run-time statistics on until the handle is closed (needs CAP_SYS_ADMIN). */
export function enableStats(): StatsHandle {
  return new StatsHandle(sys.enableStats(BPF_STATS_RUN_TIME));
}

/** Whether the kernel.bpf_stats_enabled sysctl is on (statistics count regardless of handles). */
export function statsSysctlEnabled(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** One program's counters at one moment. */
export interface ProgramCounters {
  id: number;
  name: string;
  typeName: string;
  runTimeNs: bigint;
  runCount: bigint;
  recursionMisses: bigint;
  verifiedInstructions: number;
}

/** Every program's counters now, with the time they were read (CLOCK_MONOTONIC, ns). */
export interface StatsSnapshot {
  atNs: bigint;
  programs: ProgramCounters[];
}

/** Reads every program's counters. */
export function statsSnapshot(): StatsSnapshot {
  const programs = listPrograms().map((p) => ({
    id: p.id,
    name: p.name,
    typeName: p.typeName,
    runTimeNs: p.runTimeNs,
    runCount: p.runCount,
    recursionMisses: p.recursionMisses,
    verifiedInstructions: p.verifiedInstructions,
  }));
  return { atNs: process.hrtime.bigint(), programs };
}

/** What a program cost between two snapshots. */
export interface ProgramCost extends ProgramCounters {
  /** Share of one CPU's time spent in it, in percent (can exceed 100 on several CPUs). */
  cpuPercent: number;
  /** Runs a second. */
  runsPerSecond: number;
  /** Average nanoseconds a run over the interval (0 without runs). */
  nsPerRun: number;
  /** Runs and time in the interval. */
  runsDelta: bigint;
  runTimeDeltaNs: bigint;
}

/**
 * The cost of each program in `now` since `before` (a program new in `now`
 * counts from zero; one whose counters went backwards, from zero: its id was
 * reused). Pure: no system call.
 */
export function costsBetween(before: StatsSnapshot | undefined, now: StatsSnapshot): ProgramCost[] {
  const elapsed = before ? Number(now.atNs - before.atNs) : 0;
  const old = new Map((before?.programs ?? []).map((p) => [p.id, p]));
  return now.programs.map((p) => {
    const o = old.get(p.id);
    const fresh = !o || o.runCount > p.runCount || o.runTimeNs > p.runTimeNs;
    const runsDelta = before ? (fresh ? p.runCount : p.runCount - o!.runCount) : 0n;
    const runTimeDeltaNs = before ? (fresh ? p.runTimeNs : p.runTimeNs - o!.runTimeNs) : 0n;
    return {
      ...p,
      runsDelta,
      runTimeDeltaNs,
      cpuPercent: elapsed > 0 ? (Number(runTimeDeltaNs) / elapsed) * 100 : 0,
      runsPerSecond: elapsed > 0 ? Number(runsDelta) / (elapsed / 1e9) : 0,
      nsPerRun: runsDelta > 0n ? Number(runTimeDeltaNs) / Number(runsDelta) : 0,
    };
  });
}
