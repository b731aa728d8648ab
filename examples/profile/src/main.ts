#!/usr/bin/env node
/**
 * The `profile` command: `profile [--pid PID] [--duration S] [--frequency HZ]
 * [--svg FILE] [--json]`: samples, then prints folded stacks (or JSON) and
 * writes the flame graph; Ctrl-C ends sampling early.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { TsbpfError } from '@tsbpf/object';
import { flameGraph, folded, lostSamples, profile, profileJson } from './profile.js';

const int = (what: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${what} must be a whole number`);
  return Number(v);
};
const seconds = (v: string) => {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0) throw new InvalidArgumentError('seconds must be a positive number');
  return n;
};

const program = new Command('profile')
  .description('Sample CPU stacks (kernel and user) of one process or all, and print them folded, as JSON, or draw a flame graph')
  .option('-p, --pid <pid>', 'profile only this process (default: every process)', int('pid'))
  .option('-d, --duration <seconds>', 'how long to sample', seconds, 5)
  .option('-F, --frequency <hz>', 'samples per second per CPU', int('frequency'), 99)
  .option('--svg <file>', 'write an SVG flame graph to this file')
  .option('--title <title>', 'the flame graph title')
  .option('--json', 'print every stack with its frames as JSON instead of folded stacks')
  .option('-q, --quiet', 'print nothing (with --svg)');

program.parse();
const o = program.opts<{ pid?: number; duration: number; frequency: number; svg?: string; title?: string; json?: boolean; quiet?: boolean }>();
const abort = new AbortController();
process.on('SIGINT', () => abort.abort());
try {
  if (!o.quiet) process.stderr.write(`sampling ${o.pid ? `process ${o.pid}` : 'every process'} at ${o.frequency} Hz for ${o.duration} s (Ctrl-C ends early)\n`);
  const p = await profile({ pid: o.pid, duration: o.duration, frequency: o.frequency, signal: abort.signal });
  const all = o.pid === undefined;
  const lost = lostSamples(p);
  if (p.dropped > 0) process.stderr.write(`warning: ${p.dropped} samples not counted (the counts map was full)\n`);
  if (lost > 0) process.stderr.write(`warning: ${lost} samples lost a stack (the stack map was full or two stacks shared a bucket)\n`);
  if (o.svg) {
    const title = o.title ?? (all ? 'CPU flame graph: every process' : `CPU flame graph: process ${o.pid}`);
    writeFileSync(o.svg, flameGraph(p, { title, withPid: all }));
    if (!o.quiet) process.stderr.write(`wrote ${o.svg} (${p.samples} samples)\n`);
  }
  if (!o.quiet) {
    if (o.json) process.stdout.write(`${JSON.stringify(profileJson(p), null, 2)}\n`);
    else if (!o.svg) process.stdout.write(folded(p, all));
  }
} catch (e) {
  process.stderr.write(`profile: ${e instanceof TsbpfError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
