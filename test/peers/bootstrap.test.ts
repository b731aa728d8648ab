/**
 * Programs in the shape of libbpf-bootstrap's examples (test/peers/bootstrap/,
 * written here, one per example: minimal, bootstrap, uprobe, tc, sockfilter,
 * profile, task_iter, usdt, ksyscall, fentry, lsm, kprobe), built as a user
 * would: `tsbpf build --vmlinux` with libbpf's own headers. Each program that
 * libbpf loads on this kernel must load with tsbpf, with identical xlated
 * code, and the test-runnable ones must return the same for the same packet.
 * What libbpf refuses here (fentry on a kernel that forbids it, lsm without the
 * BPF LSM) tsbpf must refuse too: the kernel decides, not the VM's quirks.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot, repoRoot } from '../support/env.js';
import { firstDifference, xlatedOf } from './support/xlated.js';

const sources = join(repoRoot, 'test', 'peers', 'bootstrap');
const cli = join(repoRoot, 'packages', 'cli', 'dist', 'cli.js');
const pinRoot = `/sys/fs/bpf/tsbpf-bootstrap-${process.pid}`;

interface Known {
  readonly match: RegExp;
  readonly reason: string;
}

/** Where tsbpf and libbpf disagree on these programs, and why (none today). */
const KNOWN: readonly Known[] = [];

/** An Ethernet + IPv4 + UDP packet, 64 bytes. */
function udpPacket(): Uint8Array {
  const p = new Uint8Array(64);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0); // dst, src MAC
  v.setUint16(12, 0x0800); // IPv4
  p[14] = 0x45; // version 4, ihl 5
  v.setUint16(16, 50); // total length
  p[22] = 64; // ttl
  p[23] = 17; // UDP
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 26); // src, dst
  v.setUint16(34, 4000);
  v.setUint16(36, 80);
  v.setUint16(38, 30);
  return p;
}

/** Programs that BPF_PROG_TEST_RUN can run, with their input. */
const RUNNABLE: Record<string, Uint8Array> = { 'tc count_ipv4': udpPacket(), 'sockfilter report_flows': udpPacket() };

let built: string;
let work: string;

describeNeeds(
  [isRoot(), hasCommand('clang'), hasCommand('bpftool'), hasCHelper('libbpf-load'), hasFile('/sys/fs/bpf'), hasFile('/sys/kernel/btf/vmlinux'), hasFile(cli)],
  'libbpf-bootstrap-style programs: tsbpf loads what libbpf loads',
  () => {
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'tsbpf-bootstrap-'));
      built = join(work, 'out');
      const srcs = readdirSync(sources)
        .filter((f) => f.endsWith('.bpf.c'))
        .map((f) => join(sources, f));
      execFileSync(process.execPath, [cli, 'build', '--vmlinux', '--out-dir', built, ...srcs], { stdio: ['ignore', 'ignore', 'inherit'] });
    }, 300_000);
    afterAll(() => {
      rmSync(pinRoot, { recursive: true, force: true });
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('every program libbpf loads loads with tsbpf, with identical xlated code and equal test-run results', () => {
      const found: string[] = [];
      let compared = 0;
      let ran = 0;
      for (const obj of readdirSync(built)
        .filter((f) => f.endsWith('.bpf.o'))
        .sort()) {
        const example = basename(obj, '.bpf.o');
        const path = join(built, obj);
        const dir = join(pinRoot, example);
        mkdirSync(join(dir, 'tsbpf'), { recursive: true });
        mkdirSync(join(dir, 'libbpf'), { recursive: true });
        const libbpf = JSON.parse(execFileSync(cHelperPath('libbpf-load'), [path, join(dir, 'libbpf')], { encoding: 'utf8' })) as {
          open: string;
          programs: Record<string, string>;
        };
        expect(libbpf.open, `libbpf opens ${obj}`).toBe('');
        const spec = parseCollectionSpec(readFileSync(path));
        expect(Object.keys(spec.programs).sort(), example).toEqual(Object.keys(libbpf.programs).sort());
        for (const name of Object.keys(spec.programs)) {
          const at = `${example} ${name}`;
          let why = '';
          try {
            using c = loadCollection(spec, { programs: [name] });
            c.programs[name]!.pin(join(dir, 'tsbpf', name));
            const input = RUNNABLE[at];
            if (input && libbpf.programs[name] === '') {
              const ours = c.programs[name]!.testRun({ data: input });
              const packet = join(work, `${example}-${name}.bin`);
              writeFileSync(packet, input);
              const theirs = execFileSync('bpftool', ['prog', 'run', 'pinned', join(dir, 'libbpf', name), 'data_in', packet, 'repeat', '1'], {
                encoding: 'utf8',
              });
              const retval = Number(/Return value: (\d+)/.exec(theirs)?.[1]);
              if (ours.retval !== retval) found.push(`${at}: test run returns ${ours.retval}, libbpf's ${retval}`);
              ran++;
            }
          } catch (e) {
            why = (e as Error).message;
          }
          const theirs = libbpf.programs[name]!;
          if (why !== '' && theirs === '') found.push(`${at}: tsbpf fails (${why.slice(0, 160)}), libbpf loads`);
          if (why === '' && theirs !== '') found.push(`${at}: tsbpf loads, libbpf fails (${theirs.slice(0, 160)})`);
          if (why !== '' || theirs !== '') continue;
          compared++;
          const a = xlatedOf(join(dir, 'tsbpf', name));
          const b = xlatedOf(join(dir, 'libbpf', name));
          if (a !== b) found.push(`${at}: xlated differs: ${firstDifference(a, b)}`);
        }
        rmSync(dir, { recursive: true, force: true });
      }
      const unexplained = found.filter((d) => !KNOWN.some((k) => k.match.test(d)));
      const stale = KNOWN.filter((k) => !found.some((d) => k.match.test(d))).map((k) => `${k.match} (${k.reason})`);
      console.log(
        `libbpf-bootstrap-style programs: ${compared} loaded by both with identical xlated code, ${ran} test runs compared, ${found.length} known disagreements`,
      );
      expect({ unexplained, stale }).toEqual({ unexplained: [], stale: [] });
      expect(compared).toBeGreaterThan(0);
    });
  },
);
