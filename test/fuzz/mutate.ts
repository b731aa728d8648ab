/**
 * Blind mutation for the fuzz tests: a seeded random source (so a case is
 * replayed from its seed alone) and byte-level changes to a copy of an
 * input: bytes and words overwritten, bits flipped, runs zeroed or
 * duplicated, the input cut short.
 */

/** A small deterministic random source (mulberry32): the same seed gives the same cases on every machine. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** A 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
}

/** The seed of case `index` of a run seeded `seed`: cases are independent, so one can be replayed alone. */
export function caseSeed(seed: number, index: number): number {
  return new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0).u32();
}

/** Values that sit on boundaries: zero, one, sign bits, all ones, small powers of two. */
export const INTERESTING_32 = [
  0, 1, 2, 3, 4, 7, 8, 16, 24, 32, 64, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
] as const;

export type Mutation =
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'word'; at: number; value: number; little: boolean }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'copy'; from: number; to: number; length: number }
  | { kind: 'cut'; at: number };

/** One to `max` random mutations for an input of `length` bytes. */
export function randomMutations(rng: Rng, length: number, max = 4): Mutation[] {
  const out: Mutation[] = [];
  const n = 1 + rng.below(max);
  for (let i = 0; i < n; i++) {
    const at = rng.below(length);
    switch (rng.below(10)) {
      case 0:
      case 1:
      case 2:
        out.push({ kind: 'byte', at, value: rng.below(256) });
        break;
      case 3:
      case 4:
        out.push({ kind: 'flip', at, bit: rng.below(8) });
        break;
      case 5:
      case 6:
        out.push({ kind: 'word', at: at & ~3, value: rng.chance(0.8) ? rng.pick(INTERESTING_32) : rng.u32(), little: rng.chance(0.5) });
        break;
      case 7:
        out.push({ kind: 'zero', at, length: 1 + rng.below(64) });
        break;
      case 8:
        out.push({ kind: 'copy', from: rng.below(length), to: at, length: 1 + rng.below(32) });
        break;
      default:
        if (rng.chance(0.3)) out.push({ kind: 'cut', at });
        else out.push({ kind: 'byte', at, value: rng.pick([0, 0xff, 0x7f, 0x80]) });
    }
  }
  return out;
}

/** A copy of `input` with the mutations applied in order. */
export function applyMutations(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = input.slice();
  for (const m of mutations) {
    if (bytes.length === 0) break;
    switch (m.kind) {
      case 'byte':
        bytes[m.at % bytes.length] = m.value;
        break;
      case 'flip':
        bytes[m.at % bytes.length]! ^= 1 << m.bit;
        break;
      case 'word': {
        const at = Math.min(m.at, bytes.length - 4);
        if (at >= 0) new DataView(bytes.buffer).setUint32(at, m.value >>> 0, m.little);
        break;
      }
      case 'zero':
        bytes.fill(0, m.at % bytes.length, (m.at % bytes.length) + m.length);
        break;
      case 'copy': {
        const from = m.from % bytes.length;
        bytes.copyWithin(m.to % bytes.length, from, Math.min(bytes.length, from + m.length));
        break;
      }
      case 'cut':
        bytes = bytes.slice(0, m.at % bytes.length);
        break;
    }
  }
  return bytes;
}
