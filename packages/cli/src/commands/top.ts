/**
 * `tsbpf top`: a live table of the kernel's BPF programs by CPU share (like
 * bpftop), redrawn every interval from two snapshots of their run-time
 * statistics (switched on with BPF_ENABLE_STATS while it runs), sortable
 * from the keyboard, leaving the terminal as it found it. renderTop is the
 * pure part: costs in, screen text out.
 */
import { costsBetween, enableStats, statsSnapshot, statsSysctlEnabled, type ProgramCost, type StatsHandle, type StatsSnapshot } from '@tsbpf/loader';
import { CliError, type CliIo } from '../io.js';

export const TOP_SORTS = ['cpu', 'runs', 'avg', 'total', 'id', 'name'] as const;
export type TopSort = (typeof TOP_SORTS)[number];

/** Keys that change the order (and q to quit). */
const SORT_KEYS: Record<string, TopSort> = { c: 'cpu', r: 'runs', a: 'avg', t: 'total', i: 'id', n: 'name' };

export interface TopView {
  sort: TopSort;
  /** Rows of the terminal (the table is cut to fit); 0: no limit. */
  rows?: number;
  columns?: number;
  intervalMs: number;
  /** Whether statistics are counting (a handle or the sysctl). */
  statsOn: boolean;
  /** Wall time of this frame, for the header. */
  now?: Date;
}

function order(costs: ProgramCost[], sort: TopSort): ProgramCost[] {
  const by: Record<TopSort, (a: ProgramCost, b: ProgramCost) => number> = {
    cpu: (a, b) => b.cpuPercent - a.cpuPercent || Number(b.runTimeNs - a.runTimeNs),
    runs: (a, b) => b.runsPerSecond - a.runsPerSecond || Number(b.runCount - a.runCount),
    avg: (a, b) => b.nsPerRun - a.nsPerRun,
    total: (a, b) => Number(b.runTimeNs - a.runTimeNs),
    id: (a, b) => a.id - b.id,
    name: (a, b) => a.name.localeCompare(b.name) || a.id - b.id,
  };
  return [...costs].sort((a, b) => by[sort](a, b) || a.id - b.id);
}

const COLUMNS: { title: string; width: number; sort?: TopSort; cell: (c: ProgramCost) => string }[] = [
  { title: 'ID', width: 8, sort: 'id', cell: (c) => String(c.id) },
  { title: 'TYPE', width: 15, cell: (c) => c.typeName },
  { title: 'NAME', width: 16, sort: 'name', cell: (c) => c.name || '-' },
  { title: 'CPU%', width: 7, sort: 'cpu', cell: (c) => c.cpuPercent.toFixed(2) },
  { title: 'RUNS/S', width: 10, sort: 'runs', cell: (c) => Math.round(c.runsPerSecond).toString() },
  { title: 'AVG NS', width: 8, sort: 'avg', cell: (c) => Math.round(c.nsPerRun).toString() },
  { title: 'TOTAL RUNS', width: 12, cell: (c) => c.runCount.toString() },
  { title: 'TOTAL MS', width: 10, sort: 'total', cell: (c) => (Number(c.runTimeNs) / 1e6).toFixed(1) },
  { title: 'MISSES', width: 7, cell: (c) => c.recursionMisses.toString() },
];

const fit = (s: string, w: number, right: boolean) => (s.length > w ? s.slice(0, w) : right ? s.padStart(w) : s.padEnd(w));

/** One frame of the table: a header, the column titles (the sort column marked), a row per program, cut to `rows` lines. */
export function renderTop(costs: ProgramCost[], view: TopView): string {
  const lines: string[] = [];
  const when = (view.now ?? new Date()).toISOString().slice(11, 19);
  const total = costs.reduce((s, c) => s + c.cpuPercent, 0);
  lines.push(`tsbpf top  ${when}  ${costs.length} programs  ${total.toFixed(2)}% CPU  every ${view.intervalMs / 1000}s  sort: ${view.sort}`);
  lines.push(view.statsOn ? 'keys: c cpu  r runs/s  a avg  t total  i id  n name  q quit' : 'statistics are off: run as root (BPF_ENABLE_STATS)');
  lines.push(COLUMNS.map((col, i) => fit(col.sort === view.sort ? `${col.title}*` : col.title, col.width, i >= 3)).join(' '));
  for (const c of order(costs, view.sort)) lines.push(COLUMNS.map((col, i) => fit(col.cell(c), col.width, i >= 3)).join(' '));
  const cut = view.rows && view.rows > 0 ? lines.slice(0, view.rows) : lines;
  return cut.map((l) => (view.columns && view.columns > 0 ? l.slice(0, view.columns) : l)).join('\n') + '\n';
}

export interface TopOptions {
  interval?: string;
  sort?: string;
  /** Frames to draw before exiting (default: until q or Ctrl-C). */
  iterations?: string;
}

const CLEAR = '\x1b[H\x1b[2J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * Runs the live table until `q`, Ctrl-C, SIGTERM or `iterations` frames;
 * statistics are switched on for as long as it runs. On a terminal it
 * redraws in place; piped, it prints each frame after the last.
 */
export async function top(io: CliIo, opts: TopOptions, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout): Promise<void> {
  const intervalMs = opts.interval === undefined ? 1000 : Number(opts.interval) * 1000;
  if (!(intervalMs >= 100 && intervalMs <= 3_600_000)) throw new CliError(`--interval must be seconds from 0.1 to 3600, not ${opts.interval}`, 1, 'USAGE');
  const iterations = opts.iterations === undefined ? Infinity : Number(opts.iterations);
  if (!(iterations >= 1) || (iterations !== Infinity && !Number.isInteger(iterations)))
    throw new CliError(`--iterations must be a whole number from 1, not ${opts.iterations}`, 1, 'USAGE');
  let sort = (opts.sort ?? 'cpu') as TopSort;
  if (!TOP_SORTS.includes(sort)) throw new CliError(`--sort must be one of ${TOP_SORTS.join(', ')}, not ${opts.sort}`, 1, 'USAGE');

  let stats: StatsHandle | undefined;
  try {
    stats = enableStats();
  } catch {
    stats = undefined; // not root: draw what the counters say (zero unless the sysctl is on)
  }
  const statsOn = stats !== undefined || statsSysctlEnabled();
  const tty = input.isTTY === true && output.isTTY === true;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let previous: StatsSnapshot | undefined;
  let frames = 0;
  let timer: NodeJS.Timeout | undefined;
  let failure: unknown;
  let last: ProgramCost[] = [];
  const view = () => ({ sort, intervalMs, statsOn, rows: tty ? output.rows : 0, columns: tty ? output.columns : 0 });

  const draw = () => {
    const now = statsSnapshot();
    last = costsBetween(previous, now);
    const frame = renderTop(last, view());
    previous = now;
    io.out(tty ? CLEAR + frame : frame + '\n');
    if (++frames >= iterations) stop();
  };
  const onKey = (data: Buffer) => {
    const key = data.toString();
    if (key === 'q' || key === '\x03' || key === '\x1b') return stop();
    const next = SORT_KEYS[key];
    if (next) {
      sort = next;
      io.out(CLEAR + renderTop(last, view()));
    }
  };
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (tty) {
    input.setRawMode(true);
    input.resume();
    input.on('data', onKey);
    io.out(HIDE_CURSOR);
  }
  try {
    previous = statsSnapshot();
    const tick = () => {
      try {
        draw();
      } catch (e) {
        failure = e;
        stop();
      }
    };
    timer = setInterval(tick, intervalMs);
    await stopped;
    if (failure !== undefined) throw failure;
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (tty) {
      input.off('data', onKey);
      input.setRawMode(false);
      input.pause();
      io.out(SHOW_CURSOR);
    }
    stats?.close();
  }
}
