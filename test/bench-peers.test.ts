/**
 * Smoke test of the benchmarks' Go and Rust peers (bench/peers): each builds
 * at the version its lock file pins (once per machine, into the tsbpf peer
 * cache; the first aya build takes minutes, so only the build gets a long
 * timeout) and runs one tiny round of every command the benches call,
 * printing the figures the benches read. The benchmarks themselves never run
 * in `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePath } from '@tsbpf/fixtures';
import { loadKernelBtf } from '@tsbpf/loader';
import { buildAya, buildCilium, peerCacheDir, type BenchPeer } from '../bench/peers/build.mjs';
import { writeModules } from '../bench/scale/gen-btf.mjs';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot, repoRoot } from './support/env.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const BUILD_TIMEOUT = 30 * 60_000;

/** Runs one peer command; its stdout must be one JSON object. */
function run(peer: BenchPeer, args: (string | number)[]): Record<string, unknown> {
  const out = execFileSync(peer.bin, args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

/** The exit status of a peer command that must fail. */
function failure(peer: BenchPeer, args: (string | number)[]): number | null {
  try {
    run(peer, args);
  } catch (e) {
    return (e as { status: number | null }).status;
  }
  throw new Error(`${peer.name} ${args.join(' ')} succeeded`);
}

/** Each named figure (a.b for nested ones) is a positive finite number. */
function expectFigures(got: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) {
    const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], got);
    expect(typeof value, `${key} in ${JSON.stringify(got)}`).toBe('number');
    expect(Number.isFinite(value) && (value as number) > 0, `${key} = ${String(value)}`).toBe(true);
  }
}

const pinnedCilium = () => /github\.com\/cilium\/ebpf (v\S+)/.exec(readFileSync(join(repoRoot, 'bench/peers/cilium/go.mod'), 'utf8'))?.[1];
const pinnedAya = () => /name = "aya"\nversion = "([^"]+)"/.exec(readFileSync(join(repoRoot, 'bench/peers/aya/Cargo.lock'), 'utf8'))?.[1];

describeNeeds(
  [isRoot(), hasCommand('go'), hasCommand('cargo'), hasCHelper('bench-scale'), hasCHelper('ringbuf-emit.bpf.o'), hasFile(VMLINUX), hasFile('/sys/fs/bpf')],
  'benchmark peers: cilium/ebpf and aya build and run one tiny round',
  () => {
    const ringObj = cHelperPath('ringbuf-emit.bpf.o');
    const producer = cHelperPath('bench-scale');
    let work = '';
    let cilium: BenchPeer;
    let aya: BenchPeer;

    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'tsbpf-bench-peers-'));
      cilium = buildCilium();
      aya = buildAya();
    }, BUILD_TIMEOUT);
    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('builds each peer at the version its lock file pins, into the peer cache', () => {
      expect(cilium.version).toBe(pinnedCilium());
      expect(aya.version).toBe(pinnedAya());
      for (const p of [cilium, aya]) expect(p.bin.startsWith(peerCacheDir())).toBe(true);
      // A second call finds the cached build (no rebuild: it returns at once).
      const t = Date.now();
      expect(buildCilium().bin).toBe(cilium.bin);
      expect(buildAya().bin).toBe(aya.bin);
      expect(Date.now() - t).toBeLessThan(5_000);
    });

    for (const [name, peer] of [
      ['cilium/ebpf', () => cilium],
      ['aya', () => aya],
    ] as const) {
      it(`${name}: hash ops, typed ops and a typed walk`, () => {
        const batches = name === 'aya' ? [] : ['batchUpdateNs', 'batchLookupNs'];
        expectFigures(run(peer(), ['maps', 1000, 1]), ['updateNs', 'lookupNs', ...batches]);
        const typedMany = name === 'aya' ? [] : ['setManyNs', 'iterateNs'];
        expectFigures(run(peer(), ['typed', 1000, 1]), ['setNs', 'getNs', 'entriesNs', ...typedMany]);
        expectFigures(run(peer(), ['walk', 1000, 1]), ['entriesNs']);
      });

      it(`${name}: load a small object, parse the kernel BTF`, () => {
        expectFigures(run(peer(), ['load', fixturePath('minimal.bpf.o'), 1, 1]), ['medianUs']);
        expectFigures(run(peer(), ['btf', VMLINUX, 1]), ['parseFind.median', 'parseFindMemory.median']);
      });

      it(`${name}: consume a ring buffer a program filled, and one 2 producers fill`, () => {
        expectFigures(run(peer(), ['ringbuf', ringObj, 1000]), ['recordsPerSec']);
        const pin = `/sys/fs/bpf/tsbpf-bench-peers-${process.pid}`;
        try {
          expectFigures(run(peer(), ['ringbuf-mp', ringObj, 1000, 2, producer, pin]), ['recordsPerSec']);
        } finally {
          rmSync(pin, { force: true });
        }
      });

      it(`${name}: bad arguments exit with status 2, a missing file with an error`, () => {
        expect(failure(peer(), ['maps', 0])).toBe(2);
        expect(failure(peer(), ['nosuchcommand'])).toBe(2);
        expect(failure(peer(), ['load', join(work, 'missing.o'), 1, 1])).toBe(1);
      });
    }

    it('cilium/ebpf: the kernel BTF plus a synthetic split module BTF', () => {
      const [mod] = writeModules(loadKernelBtf(), join(work, 'btf'), 1);
      expectFigures(run(cilium, ['btfsplit', VMLINUX, 1, mod!]), ['medianMs']);
      // The module's types refer to the kernel's: without the base they do not parse.
      expect(failure(cilium, ['btf', mod!, 1])).toBe(1);
    });
  },
);
