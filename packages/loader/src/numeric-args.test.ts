/**
 * Every numeric option and argument of the loader, given the values that
 * wrap, truncate or loop when unchecked (0, -1, 0.5, NaN, Infinity, 2^32,
 * 2^53): each is a LoaderError INVALID_ARGUMENT, or has the meaning the
 * documentation gives it, and every call ends. Above a fake bpf() door (no
 * root); the readers, which need real mappings, in the kernel suite below.
 */
import { tmpdir } from 'node:os';
import { beforeEach, describe, expect, it } from 'vitest';
import { MapType, ProgramType, TsbpfError, asm, encodeInstructions } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import { attachCgroup, attachNetfilter, attachTracing, attachUprobe, attachXdp } from './link.js';
import { attachKprobe } from './kprobe.js';
import { attachTcx } from './tcx.js';
import { BpfMap, possibleCpus, type MapOptions } from './map.js';
import { PerfEventArrayReader } from './perf-reader.js';
import { attachTypeSupported, helperSupported, mapTypeSupported, programTypeSupported } from './probes.js';
import { Program } from './program.js';
import { RingBufferReader } from './ring-reader.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

const BAD = [0, -1, 0.5, NaN, Infinity, 2 ** 32, 2 ** 53] as const;

/**
 * Runs `use(value)` (a generator it returns is stepped at most 100 times:
 * a walk that never ends fails here instead of hanging) and says what it
 * gave: 'INVALID_ARGUMENT', 'ok', or another TsbpfError's code.
 */
function outcome(use: () => unknown): string {
  try {
    const r = use();
    if (r && typeof (r as Iterator<unknown>).next === 'function' && typeof (r as Iterable<unknown>)[Symbol.iterator] === 'function') {
      const it = r as Iterator<unknown>;
      for (let i = 0; i < 100; i++) if (it.next().done) return 'ok';
      return 'did not end';
    }
    return 'ok';
  } catch (e) {
    if (e instanceof LoaderError && e.code === 'INVALID_ARGUMENT') return 'INVALID_ARGUMENT';
    if (e instanceof TsbpfError) return `typed ${e.code}`;
    return `untyped ${String(e)}`;
  }
}

/** `accepted`: the bad values with a documented meaning (they may still fail in the kernel, with a typed error). */
function expectChecked(what: string, use: (v: number) => unknown, accepted: readonly number[] = []): void {
  for (const v of BAD) {
    const got = outcome(() => use(v));
    if (accepted.includes(v)) expect(got, `${what}(${v})`).toMatch(/^(ok|typed (?!INVALID_ARGUMENT))/);
    else expect(got, `${what}(${v})`).toBe('INVALID_ARGUMENT');
  }
}

describe('numeric arguments above a fake bpf() door (no root)', () => {
  const kernel = new FakeKernel();
  beforeEach(() => {
    // Programs and links load in the fake; nothing else the test does reaches it with a bad number.
    kernel.reset().answer = (cmd) => (cmd === 'PROG_LOAD' || cmd === 'LINK_CREATE' ? kernel.fd() : undefined);
    return kernel.install();
  });

  const hash = (o: Partial<MapOptions> = {}) => BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 8, name: 'h', ...o });
  const program = () =>
    Program.load({ type: ProgramType.xdp, name: 'p', license: 'GPL', instructions: encodeInstructions([asm.mov64Imm(0, 2), asm.exit()], 'little') });

  it('BpfMap.create: every u32 field, the fds and map_extra', () => {
    for (const f of ['type', 'keySize', 'valueSize', 'maxEntries', 'flags', 'numaNode', 'btfKeyTypeId', 'btfValueTypeId'] as const)
      expectChecked(`create ${f}`, (v) => hash({ [f]: v }).close(), [0]);
    for (const f of ['innerMapFd', 'btfFd'] as const) expectChecked(`create ${f}`, (v) => hash({ [f]: v }).close(), [0]);
    for (const v of [-1n, 2n ** 64n]) expect(outcome(() => hash({ mapExtra: v }))).toBe('INVALID_ARGUMENT');
  });

  it('batch sizes and counts: lookupBatches(0) and its kin end with INVALID_ARGUMENT instead of looping', () => {
    using m = hash();
    m.update(new Uint8Array(4), new Uint8Array(4));
    expectChecked('lookupBatches', (v) => m.lookupBatches(v));
    expectChecked('batchCursor', (v) => m.batchCursor(v).release());
    expectChecked('batchViews', (v) => m.batchViews(v), [0]); // 0: no entries, a documented no-op
    expectChecked('updateBatchPrepared', (v) => m.updateBatchPrepared(v), [0]);
    expect([...m.lookupBatches(1)].map((b) => b.count)).toEqual([1]); // the checks let good values through
  });

  it('element flags: negative, fractional or wider than their field', () => {
    using m = hash();
    const k = new Uint8Array(4);
    for (const f of [-1n, 2n ** 32n, 0.5, NaN] as unknown as bigint[]) {
      expect(
        outcome(() => m.update(k, k, f)),
        String(f),
      ).toBe('INVALID_ARGUMENT'); // the element attr's flags are a u32
      expect(
        outcome(() => m.updatePrepared(f)),
        String(f),
      ).toBe('INVALID_ARGUMENT');
    }
    for (const f of [-1n, 2n ** 64n, 0.5, NaN] as unknown as bigint[])
      expect(
        outcome(() => m.updateBatch(k, k, f)),
        String(f),
      ).toBe('INVALID_ARGUMENT'); // a u64
    expect(outcome(() => m.update(k, k, 2n))).toMatch(/^(ok|typed)/); // BPF_EXIST
  });

  it('Program.load fields and testRun: repeat above 2^32 - 1 does not wrap', () => {
    for (const f of ['type', 'expectedAttachType', 'attachBtfId', 'kernelVersion', 'flags', 'logLevel'] as const)
      expectChecked(
        `load ${f}`,
        (v) => Program.load({ type: ProgramType.xdp, name: 'p', license: 'GPL', instructions: new Uint8Array(16), [f]: v }).close(),
        [0],
      );
    using p = program();
    kernel.answer = (cmd) => (cmd === 'PROG_TEST_RUN' ? 0 : undefined);
    expectChecked('testRun repeat', (v) => p.testRun({ data: new Uint8Array(64), repeat: v }), [0]); // 0 runs once
    expectChecked('testRun dataOutSize', (v) => p.testRun({ data: new Uint8Array(64), dataOutSize: v }), [0]);
  });

  it('attach: ifindexes, attach types, offsets, pids and priorities', () => {
    using p = program();
    expectChecked('attachXdp ifindex', (v) => attachXdp(p, v).close(), [0]);
    expectChecked('attachTcx ifindex', (v) => attachTcx(p, v, 'ingress').close(), [0]);
    expectChecked('attachTracing attachType', (v) => attachTracing(p, v).close(), [0]);
    expectChecked('attachCgroup attachType', (v) => attachCgroup(p, tmpdir(), v).close(), [0]);
    expectChecked('attachKprobe offset', (v) => attachKprobe(p, 'nonexistent_function', { offset: v }).close(), [0]);
    expectChecked('attachUprobe pid', (v) => attachUprobe(p, '/bin/true', 'no_such_function', { pid: v }).close(), [0, -1]); // -1: every process
    expectChecked('attachUprobe offset', (v) => attachUprobe(p, '/bin/true', 'no_such_function', { offset: v }).close(), [0, 2 ** 32]);
    expectChecked('attachNetfilter priority', (v) => attachNetfilter(p, { family: 'ipv4', hook: 'local_in', priority: v }).close(), [0, -1]);
  });

  it('probes: types and helper ids', () => {
    expectChecked('mapTypeSupported', (v) => mapTypeSupported(v), [0]);
    expectChecked('programTypeSupported', (v) => programTypeSupported(v), [0]);
    expectChecked('attachTypeSupported', (v) => attachTypeSupported(v), [0]);
    expectChecked('helperSupported', (v) => helperSupported(ProgramType.xdp, v), [0]);
  });
});

describeNeeds([isRoot()], 'numeric arguments of the readers', () => {
  it('wait timeouts, consumeAt max and pagesPerCpu', async () => {
    using ringMap = BpfMap.create({ type: MapType.ringbuf, keySize: 0, valueSize: 0, maxEntries: 1 << 16, name: 'ring' });
    using perfMap = BpfMap.create({ type: MapType.perf_event_array, keySize: 4, valueSize: 4, maxEntries: possibleCpus(), name: 'perf' });
    using ring = new RingBufferReader(ringMap);
    using perf = new PerfEventArrayReader(perfMap, { pagesPerCpu: 1 });
    for (const reader of [ring, perf]) {
      for (const v of BAD) {
        const got = await reader.wait(v).then(
          () => 'ok',
          (e: unknown) => (e instanceof LoaderError ? e.code : String(e)),
        );
        expect(got, `wait(${v})`).toBe(v === 0 ? 'ok' : 'INVALID_ARGUMENT'); // 0: a poll; a negative one would wait for ever
      }
      expectChecked('consumeAt max', (v) => reader.consumeAt(() => {}, v), [0, Infinity, 2 ** 32]); // Infinity: no bound (the default)
    }
    expectChecked('pagesPerCpu', (v) => new PerfEventArrayReader(perfMap, { pagesPerCpu: v }).close(), []);
  });
});
