/**
 * Mutated peer objects (cilium/ebpf's testdata, both byte orders) through
 * everything pure that `tsbpf inspect`, `objdump`, `btf dump` and a load's
 * first half run: parse, every BTF type, the raw and C BTF dumps, the
 * disassembly, linking each program with its subprograms, the BTF the
 * kernel would be given, the .kconfig layout and CO-RE against the object's
 * own BTF. Only tsbpf's typed errors may come out, each case within a time
 * budget: never a TypeError, a RangeError, a stack overflow or a hang. And
 * the CLI's reading commands on every corpus object as it is: a typed error at
 * worst, never an internal error.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import {
  TsbpfError,
  btfForKernel,
  calculateCoreRelos,
  formatBtfC,
  formatBtfRaw,
  formatInstructions,
  kconfigLayout,
  linkProgram,
  parseCollectionSpec,
} from '@tsbpf/object';
import { describeNeeds, hasCommand } from '../support/env.js';
import { runCli } from '../support/cli.js';
import { ciliumPeer, type CiliumPeer } from './support/cilium-peer.js';

/** A case that takes longer than this is a hang for the purpose of this test. */
const BUDGET_MS = 1000;

function exercise(bytes: Uint8Array): void {
  const spec = parseCollectionSpec(bytes);
  if (spec.btf) {
    for (const _ of spec.btf.types()) void _;
    formatBtfRaw(spec.btf);
    formatBtfC(spec.btf);
    btfForKernel(spec);
    kconfigLayout(spec);
  }
  for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
    formatInstructions(p.instructions, { byteOrder: spec.byteOrder, lineInfo: p.lineInfo });
  }
  for (const name of Object.keys(spec.programs)) {
    const linked = linkProgram(spec, name);
    if (spec.btf && linked.coreRelos.length > 0) calculateCoreRelos(spec.btf, spec.btf, linked.coreRelos);
  }
}

/** Runs one case: a typed error is fine, anything else (or too long) fails with what happened. */
function check(bytes: Uint8Array, label: string): void {
  const start = performance.now();
  try {
    exercise(bytes);
  } catch (e) {
    if (!TsbpfError.is(e)) throw new Error(`${label}: untyped ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
  }
  const took = performance.now() - start;
  if (took > BUDGET_MS) throw new Error(`${label}: took ${took.toFixed(0)} ms`);
}

const mutation = (length: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(length - 1), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(length - 1), value: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 8, 0x10000) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(length - 1), value: fc.constant(0) }),
  );

type Mutation = { kind: 'byte' | 'word' | 'cut'; at: number; value: number };

function mutate(original: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = original.slice();
  for (const m of mutations) {
    if (m.kind === 'byte') bytes[m.at % bytes.length] = m.value;
    else if (m.kind === 'word') {
      const at = Math.min(m.at, bytes.length - 4);
      if (at >= 0) new DataView(bytes.buffer).setUint32(at, m.value, true);
    } else bytes = bytes.slice(0, m.at % bytes.length);
    if (bytes.length === 0) break;
  }
  return bytes;
}

let peer: CiliumPeer;

describeNeeds([hasCommand('go')], 'mutated peer objects give typed errors only', () => {
  beforeAll(() => {
    peer = ciliumPeer();
  }, 600_000);

  it('no CLI command prints an internal error for any corpus object', async () => {
    const files = ['testdata', 'btf/testdata'].flatMap((dir) =>
      readdirSync(join(peer.moduleDir, dir))
        .filter((f) => f.endsWith('.elf'))
        .map((f) => join(peer.moduleDir, dir, f)),
    );
    const commands = [
      ['inspect'],
      ['inspect', '--json'],
      ['objdump'],
      ['btf', 'dump'],
      ['btf', 'dump', '--format', 'c'],
      ['btf', 'dump', '--format', 'json'],
      ['gen'],
    ];
    const internal: string[] = [];
    for (const file of files) {
      for (const command of commands) {
        const argv = command[0] === 'btf' ? [...command.slice(0, 2), file, ...command.slice(2)] : [command[0]!, file, ...command.slice(1)];
        const r = await runCli(...argv);
        // Exit 0, or 1 with a typed error: 2 ("internal error", a stack) is a bug.
        if (r.code > 1 || /internal error/.test(r.err)) internal.push(`${argv.join(' ')}: ${r.err.split('\n')[0]}`);
      }
    }
    expect(internal).toEqual([]);
  }, 300_000);

  it('every cilium/ebpf testdata object, unmutated and mutated', () => {
    const files = ['testdata', 'btf/testdata'].flatMap((dir) =>
      readdirSync(join(peer.moduleDir, dir))
        .filter((f) => f.endsWith('.elf'))
        .map((f) => join(peer.moduleDir, dir, f)),
    );
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const original = new Uint8Array(readFileSync(file));
      check(original, file);
      fc.assert(
        fc.property(fc.array(mutation(original.length), { minLength: 1, maxLength: 4 }), (ms) => check(mutate(original, ms), `${file} ${JSON.stringify(ms)}`)),
        { numRuns: 100, seed: 0x13c0 },
      );
    }
  }, 300_000);
});
