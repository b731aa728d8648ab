/**
 * `tsbpf top`: what a frame shows from two snapshots of program counters
 * (CPU share, runs a second, average cost; a reused id counted from zero),
 * ordered by the chosen column, cut to the terminal; and, driven through a
 * fake terminal, a sort key redraws in the new order and `q` exits leaving
 * the terminal as it was (raw mode off, cursor shown).
 */
import { PassThrough } from 'node:stream';
import { expect, it, describe } from 'vitest';
import { costsBetween, type ProgramCounters, type StatsSnapshot } from '@tsbpf/loader';
import { renderTop } from 'tsbpf';
import { top } from '../packages/cli/src/commands/top.js';
import { describeNeeds, isRoot } from './support/env.js';

const prog = (id: number, name: string, runCount: bigint, runTimeNs: bigint): ProgramCounters => ({
  id,
  name,
  typeName: 'xdp',
  runCount,
  runTimeNs,
  recursionMisses: 0n,
  verifiedInstructions: 10,
});
const snap = (atNs: bigint, ...programs: ProgramCounters[]): StatsSnapshot => ({ atNs, programs });

describe('top frames', () => {
  const before = snap(0n, prog(1, 'busy', 100n, 1_000_000n), prog(2, 'idle', 5n, 500n), prog(3, 'reused', 1000n, 9_000_000n));
  const after = snap(1_000_000_000n, prog(1, 'busy', 1100n, 101_000_000n), prog(2, 'idle', 5n, 500n), prog(3, 'reused', 10n, 2_000n), prog(4, 'new', 1n, 50n));
  const costs = costsBetween(before, after);

  it('costs are shares of a second of one CPU, per program, since the last snapshot', () => {
    const by = new Map(costs.map((c) => [c.id, c]));
    expect(by.get(1)).toMatchObject({ runsDelta: 1000n, runTimeDeltaNs: 100_000_000n, cpuPercent: 10, runsPerSecond: 1000, nsPerRun: 100_000 });
    expect(by.get(2)).toMatchObject({ runsDelta: 0n, cpuPercent: 0, nsPerRun: 0 });
    expect(by.get(3), 'counters went back: a new program under a reused id').toMatchObject({ runsDelta: 10n, runTimeDeltaNs: 2_000n });
    expect(by.get(4)).toMatchObject({ runsDelta: 1n, runTimeDeltaNs: 50n });
    expect(costsBetween(undefined, after).every((c) => c.cpuPercent === 0 && c.runsDelta === 0n)).toBe(true);
  });

  it('rows follow the sort; the sort column is marked; the frame fits the terminal', () => {
    const names = (text: string) =>
      text
        .split('\n')
        .slice(3, -1)
        .map((l) => l.split(/\s+/)[2]);
    const view = { intervalMs: 1000, statsOn: true, now: new Date('2026-12-02T10:11:12Z') };
    const cpu = renderTop(costs, { ...view, sort: 'cpu' });
    expect(cpu.split('\n')[0]).toBe('tsbpf top  10:11:12  4 programs  10.00% CPU  every 1s  sort: cpu');
    expect(cpu.split('\n')[2]).toContain('CPU%*');
    expect(names(cpu)).toEqual(['busy', 'reused', 'new', 'idle']);
    expect(names(renderTop(costs, { ...view, sort: 'name' }))).toEqual(['busy', 'idle', 'new', 'reused']);
    expect(names(renderTop(costs, { ...view, sort: 'id' }))).toEqual(['busy', 'idle', 'reused', 'new']);
    const small = renderTop(costs, { ...view, sort: 'cpu', rows: 5, columns: 30 });
    expect(small.split('\n').slice(0, -1)).toHaveLength(5);
    expect(small.split('\n').every((l) => l.length <= 30)).toBe(true);
    expect(renderTop(costs, { ...view, sort: 'cpu', statsOn: false })).toContain('statistics are off');
  });
});

describeNeeds([isRoot()], 'top on a terminal', () => {
  it('a key re-sorts, q exits and gives the terminal back', async () => {
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
      raw: false,
      setRawMode(this: { raw: boolean }, on: boolean) {
        this.raw = on;
        return this;
      },
    });
    const output = Object.assign(new PassThrough(), { isTTY: true, rows: 20, columns: 100 });
    let out = '';
    const done = top({ out: (t) => void (out += t), err: () => {} }, { interval: '0.1' }, input as never, output as never);
    await new Promise((r) => setTimeout(r, 250));
    expect(input.raw).toBe(true);
    expect(out).toContain('\x1b[?25l');
    expect(out).toContain('sort: cpu');
    input.write('n');
    await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('sort: name');
    input.write('q');
    await done;
    expect(input.raw).toBe(false);
    expect(out.endsWith('\x1b[?25h')).toBe(true);
  });
});
