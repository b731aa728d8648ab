import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, type TestContext } from 'vitest';
import { attachPerfEvent, LoaderError, mapTypeSupported, onlineCpus, Program, programTypeSupported, SyscallError } from '@tsbpf/loader';
import { MapType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { checkSampleOptions } from './profiler.js';
import { foldedStacks, type NamedProfile } from './report.js';
import { profile, topFrames } from './profile.js';
import { describeNeeds, hasCommand, hasFile, inCI, isRoot } from '../../../test/support/env.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

it('refuses bad options with typed errors before touching the kernel', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof LoaderError ? e.code : `not a LoaderError: ${String(e)}`;
    }
    return 'no error';
  };
  expect(code(() => checkSampleOptions({ pid: -1 }))).toBe('INVALID_ARGUMENT');
  expect(code(() => checkSampleOptions({ pid: 1.5 }))).toBe('INVALID_ARGUMENT');
  expect(code(() => checkSampleOptions({ duration: 0 }))).toBe('INVALID_ARGUMENT');
  expect(code(() => checkSampleOptions({ duration: Number.NaN }))).toBe('INVALID_ARGUMENT');
  expect(code(() => checkSampleOptions({ frequency: 0 }))).toBe('INVALID_ARGUMENT');
  expect(code(() => checkSampleOptions({ frequency: 99.5 }))).toBe('INVALID_ARGUMENT');
  // pid_max is at most 2^22: this one cannot exist.
  expect(code(() => checkSampleOptions({ pid: 0x3ffffff0 }))).toBe('ATTACH_TARGET');
  expect(checkSampleOptions({})).toEqual({ pid: 0, duration: 5, frequency: 99 });
});

/**
 * Can this kernel profile? A stack trace map, a perf_event program, and a
 * cpu-clock perf event with the program on it. A refusal is the reason to
 * skip (a failure under CI=true); anything else is a failure.
 */
function probeProfiling(): { ok: true } | { ok: false; why: string } {
  if (!mapTypeSupported(MapType.stack_trace)) return { ok: false, why: 'the kernel refuses BPF_MAP_TYPE_STACK_TRACE' };
  if (!programTypeSupported(ProgramType.perf_event)) return { ok: false, why: 'the kernel refuses BPF_PROG_TYPE_PERF_EVENT' };
  using prog = Program.load({
    type: ProgramType.perf_event,
    name: 'tsbpf_probe',
    license: 'GPL',
    instructions: encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little'),
  });
  try {
    attachPerfEvent(prog, { event: 'cpu-clock', frequency: 99, cpus: [onlineCpus()[0]!] }).close();
  } catch (e) {
    if (e instanceof SyscallError) return { ok: false, why: `perf_event_open of cpu-clock refused: ${e.message}` };
    throw e;
  }
  return { ok: true };
}

function requireProfiling(ctx: TestContext): void {
  const p = probeProfiling();
  if (p.ok) return;
  if (inCI) throw new Error(`CI=true: the kernel cannot profile: ${p.why}`);
  ctx.skip(p.why);
}

/** Starts a child, waits for its "ready" line; it is killed by the caller (and by stop()). */
function startChild(cmd: string, args: string[], cwd: string, children: ChildProcess[]): Promise<ChildProcess> {
  // In the test's directory: node --perf-basic-prof also writes an isolate-*-v8.log into its working directory.
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not say ready in 20 s`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before it was ready`));
    });
  });
}

/** The samples in stacks holding a frame whose name matches. */
const samplesWith = (p: NamedProfile, re: RegExp) => p.stacks.filter((s) => s.frames.some((f) => re.test(f.name))).reduce((n, s) => n + s.count, 0);

// A named function spinning for 50 ms at a time, called from the event loop (so it is not inlined into its caller).
const HOT_JS = `
function tsbpfHotSpin(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 2000; i++) x += Math.sqrt(i);
  return x;
}
const stopAt = Date.now() + 60_000;
(function loop() { if (Date.now() < stopAt) { tsbpfHotSpin(50); setImmediate(loop); } })();
process.stdout.write('ready\\n');
`;

// A C function spinning, called from main, with frame pointers (for the user stack walk) and symbols.
const HOT_C = `
#include <stdio.h>
#include <time.h>
__attribute__((noinline)) unsigned long tsbpf_spin_here(unsigned long n) {
  volatile unsigned long x = 0;
  for (unsigned long i = 0; i < n; i++) x += i;
  return x;
}
int main(void) {
  time_t end = time(NULL) + 60;
  puts("ready");
  fflush(stdout);
  while (time(NULL) < end) tsbpf_spin_here(10000000);
  return 0;
}
`;

describeNeeds(
  [isRoot(), hasCommand('clang'), hasCommand('gcc'), hasCommand('dd'), hasFile(MAIN), hasFile('/proc/kallsyms')],
  'profile: real samples of real processes',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-profile-'));
    const children: ChildProcess[] = [];
    const stop = () => {
      for (const c of children.splice(0)) {
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        if (c.pid) rmSync(`/tmp/perf-${c.pid}.map`, { force: true });
      }
    };
    afterAll(() => {
      stop();
      rmSync(dir, { recursive: true, force: true });
    });
    let spinner: string;
    beforeAll(() => {
      writeFileSync(join(dir, 'hot.js'), HOT_JS);
      writeFileSync(join(dir, 'spinner.c'), HOT_C);
      spinner = join(dir, 'spinner');
      execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', spinner, join(dir, 'spinner.c')]);
    });

    it("finds a Node child's hot JS function by name among the top frames", async (ctx) => {
      requireProfiling(ctx);
      try {
        const child = await startChild(process.execPath, ['--perf-basic-prof', join(dir, 'hot.js')], dir, children);
        const p = await profile({ pid: child.pid!, duration: 3 });
        expect(p.samples).toBeGreaterThan(50);
        // Only the child's samples were counted (the filter is in the BPF program).
        expect(new Set(p.stacks.map((s) => s.pid))).toEqual(new Set([child.pid]));
        expect(existsSync(`/tmp/perf-${child.pid}.map`)).toBe(true);
        const top = topFrames(foldedStacks(p), 3);
        expect(
          top.some((f) => /tsbpfHotSpin/.test(f.name) && f.name.endsWith('_[j]')),
          JSON.stringify(top),
        ).toBe(true);
        // The function (or what it calls) is on the CPU most of the time.
        expect(samplesWith(p, /tsbpfHotSpin/) / p.samples).toBeGreaterThan(0.5);
        // Native frames of the node binary are named too (it has .symtab).
        expect(p.stacks.some((s) => s.frames.some((f) => f.kind === 'user' && f.module === 'node'))).toBe(true);
      } finally {
        stop();
      }
    }, 60_000);

    it('names a C function of a test binary from its symbols, called from main, through the CLI with --svg and --json', async (ctx) => {
      requireProfiling(ctx);
      try {
        const child = await startChild(spinner, [], dir, children);
        const svg = join(dir, 'out.svg');
        const out = execFileSync(process.execPath, [MAIN, '--pid', String(child.pid), '--duration', '2', '--svg', svg, '--json'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        });
        const json = JSON.parse(out) as { samples: number; stacks: { pid: number; count: number; frames: { name: string; kind: string; module: string }[] }[] };
        expect(json.samples).toBeGreaterThan(50);
        const heaviest = json.stacks[0]!;
        expect(heaviest.pid).toBe(child.pid);
        const leaf = heaviest.frames[heaviest.frames.length - 1]!;
        expect(leaf).toMatchObject({ name: 'tsbpf_spin_here', kind: 'user', module: 'spinner' });
        expect(heaviest.frames.map((f) => f.name)).toContain('main');
        const inSpin = json.stacks.filter((s) => s.frames.some((f) => f.name === 'tsbpf_spin_here')).reduce((n, s) => n + s.count, 0);
        expect(inSpin / json.samples).toBeGreaterThan(0.8);
        const picture = readFileSync(svg, 'utf8');
        expect(picture).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        expect(picture).toMatch(/<title>tsbpf_spin_here \(\d+ samples, (8\d|9\d|100)\.\d\d%\)<\/title>/);
        expect(picture).toContain(`CPU flame graph: process ${child.pid}`);
      } finally {
        stop();
      }
    }, 60_000);

    it('samples every process, naming kernel frames from kallsyms on top of the user frames of a reading dd', async (ctx) => {
      requireProfiling(ctx);
      try {
        const dd = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=64k', 'count=100000000'], { cwd: dir, stdio: 'ignore' });
        children.push(dd);
        await new Promise((r) => setTimeout(r, 300));
        const p = await profile({ duration: 1 });
        const pids = new Set(p.stacks.map((s) => s.pid));
        expect(pids.has(dd.pid!)).toBe(true);
        expect(pids.has(0)).toBe(false); // the idle task is left out
        const mine = p.stacks.filter((s) => s.pid === dd.pid);
        expect(mine.every((s) => s.comm === 'dd')).toBe(true);
        // dd spends its time in read(2) of /dev/zero: vfs_read, named from kallsyms, after (above) dd's user frames.
        const reading = mine.filter((s) => s.frames.some((f) => f.kind === 'kernel' && f.name === 'vfs_read'));
        expect(reading.length, JSON.stringify(mine.map((s) => s.frames.map((f) => f.name)))).toBeGreaterThan(0);
        for (const s of reading) {
          const firstKernel = s.frames.findIndex((f) => f.kind === 'kernel');
          expect(s.frames.slice(firstKernel).every((f) => f.kind === 'kernel' || f.module === 'vmlinux')).toBe(true);
        }
        expect(foldedStacks(p, true).some((f) => f.frames[0] === `dd-${dd.pid}` && f.frames.includes('vfs_read_[k]'))).toBe(true);
      } finally {
        stop();
      }
    }, 60_000);

    it('the CLI refuses a bad pid with its error code and a non-zero exit', () => {
      let status = 0;
      let stderr = '';
      try {
        execFileSync(process.execPath, [MAIN, '--pid', String(0x3ffffff0), '--duration', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        ({ status, stderr } = e as { status: number; stderr: string });
      }
      expect(status).toBe(1);
      expect(stderr).toContain('ATTACH_TARGET');
    });
  },
);
