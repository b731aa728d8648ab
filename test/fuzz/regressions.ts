/**
 * What the fuzzer found, kept as fixed inputs: each finding's case (a
 * fixture and the mutation seed and index that reproduce it), and what was
 * wrong before the fix. The generated hostile inputs (hostile.ts) are the
 * other half: the shapes of issue 21's hangs and stack overflows.
 */
import { readFixture } from '@tsbpf/fixtures';
import { mutationsOf, type FuzzCase } from './harness.js';

export interface Finding {
  readonly fixture: string;
  readonly seed: number;
  readonly index: number;
  /** What happened before the fix. */
  readonly was: string;
}

export const FINDINGS: readonly Finding[] = [
  { fixture: 'global_data.bpf.o', seed: 0x7b9f, index: 11, was: 'a .rodata symbol past its section: RangeError in withLoadOverrides' },
  { fixture: 'global_data.bpf.o', seed: 0x7b9f, index: 43, was: 'a .rodata symbol past its section: RangeError in withLoadOverrides' },
  { fixture: 'btf_kinds.eb.bpf.o', seed: 0x7b9f, index: 17, was: 'a .rodata symbol past its section: RangeError in withLoadOverrides' },
  { fixture: 'core.bpf.o', seed: 0x7b9f, index: 114, was: 'a CO-RE field at a bit offset, no bit-field: RangeError (BigInt of 4095.875)' },
];

/** The case a finding names. */
export function findingCase(f: Finding): FuzzCase {
  const c = mutationsOf(f.fixture, 'object', readFixture(f.fixture), f.seed, f.index + 1)[f.index]!;
  return { ...c, label: `${c.label} (was: ${f.was})` };
}
