/**
 * The fuzz harness every fuzz test uses: turns (seed, index) into a case
 * (a real input blindly mutated, a few of its fields corrupted, or a
 * generated hostile input, mutated or not), runs it through everything pure
 * (exercise.ts) and judges it: only tsbpf's typed errors, and no more CPU
 * time than the budget. A failure names the seed and index that replay it.
 */
import { exerciseObject, exerciseRawBtf, Untyped } from './exercise.js';
import { corrupt } from './fields.js';
import { hostileInputs } from './hostile.js';
import { seeds, type Seed } from './inputs.js';
import { applyMutations, caseSeed, randomMutations, Rng } from './mutate.js';

export interface FuzzCase {
  /** What was done to what, enough to recognise the case in a report. */
  readonly label: string;
  readonly kind: 'object' | 'btf';
  readonly bytes: Uint8Array;
}

export interface FuzzFailure {
  readonly label: string;
  readonly problem: string;
  /** How to run this case alone. */
  readonly replay?: string;
}

/** A case's CPU time budget: a second, and a millisecond more per KiB (a generated blob of 60,000 types is 2 MiB). */
export function budgetMs(bytes: Uint8Array): number {
  return 1000 + bytes.length / 1024;
}

/** Case `index` of a run seeded `seed`: the same on every machine with the same seeds (fixtures, corpus, kernel). */
export function makeCase(seed: number, index: number, from: readonly Seed[] = seeds()): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const strategy = rng.below(20);
  if (strategy < 3) {
    const h = rng.pick(hostileInputs());
    if (rng.chance(0.5)) return { label: `hostile ${h.name}`, kind: h.kind, bytes: h.bytes };
    const ms = randomMutations(rng, h.bytes.length);
    return { label: `hostile ${h.name} mutated ${ms.length}x`, kind: h.kind, bytes: applyMutations(h.bytes, ms) };
  }
  const input = rng.pick(from);
  if (strategy < 11 && input.fields.length > 0) {
    const { bytes, corruptions } = corrupt(rng, input.bytes, input.fields);
    const what = corruptions.map((c) => `${c.label}@${c.at}=${c.value}`).join(', ');
    return { label: `${input.name}: ${what}`, kind: input.kind, bytes };
  }
  const ms = randomMutations(rng, input.bytes.length, 6);
  return { label: `${input.name}: ${ms.map((m) => m.kind).join(',')}`, kind: input.kind, bytes: applyMutations(input.bytes, ms) };
}

/** `count` blind mutations of one input (case `i` from `caseSeed(seed, i)`), for tests that go through every input in turn. */
export function mutationsOf(name: string, kind: FuzzCase['kind'], bytes: Uint8Array, seed: number, count: number): FuzzCase[] {
  return Array.from({ length: count }, (_, i) => {
    const rng = new Rng(caseSeed(seed, i));
    const ms = randomMutations(rng, bytes.length, 6);
    return { label: `${name} (seed ${seed}, case ${i}): ${JSON.stringify(ms)}`, kind, bytes: applyMutations(bytes, ms) };
  });
}

/** Runs one case: undefined if it held, else what went wrong. */
export function runCase(c: FuzzCase): FuzzFailure | undefined {
  const start = process.cpuUsage();
  try {
    if (c.kind === 'btf') exerciseRawBtf(c.bytes);
    else exerciseObject(c.bytes);
  } catch (e) {
    return { label: c.label, problem: e instanceof Untyped ? `untyped error in ${e.message}` : `escaped: ${String(e)}` };
  }
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  const budget = budgetMs(c.bytes);
  if (ms > budget) return { label: c.label, problem: `took ${ms.toFixed(0)} ms of CPU (budget ${budget.toFixed(0)} ms)` };
  return undefined;
}

export interface FuzzRun {
  readonly seed: number;
  readonly cases: number;
  readonly failures: FuzzFailure[];
}

/** Cases `first`, `first+1`, ... of `seed` for `seconds` (or `count` cases, whichever ends first). */
export function fuzz(options: { seed: number; seconds: number; count?: number; first?: number }): FuzzRun {
  const { seed, seconds, count = Infinity, first = 0 } = options;
  const from = seeds();
  const failures: FuzzFailure[] = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  for (; n < count && performance.now() < end; n++) {
    const index = first + n;
    const failure = runCase(makeCase(seed, index, from));
    if (failure) failures.push({ ...failure, replay: `FUZZ_SEED=${seed} FUZZ_CASE=${index}` });
  }
  return { seed, cases: n, failures };
}
