/**
 * The child process of packages/maps/src/typed-map-jit.test.ts (bundled from
 * the sources, run under node --allow-natives-syntax): optimizes TypedMap.set
 * and get on one map, then closes another map (the process's first close())
 * and uses a third map for the first time, and prints one JSON line: whether
 * V8 still holds set and get optimized after each step.
 */
import { BpfMap } from '@tsbpf/loader';
import { TypedMap, struct, u32, u64 } from '@tsbpf/maps';

// V8's natives, parsed at run time (only under --allow-natives-syntax).
const native = (body: string) => new Function('f', body) as (f: unknown) => number;
const status = native('return %GetOptimizationStatus(f)');
const prepare = native('%PrepareFunctionForOptimization(f)');
const optimizeOnNextCall = native('%OptimizeFunctionOnNextCall(f)');
/** Bit 4 of the status: the function runs optimized code. */
const optimized = (f: unknown): boolean => (status(f) & 16) !== 0;

const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
const make = () => new TypedMap(BpfMap.create({ type: 1 /* hash */, keySize: 4, valueSize: 24, maxEntries: 1024, name: 'jit' }), u32, Stats);
const value = { packets: 1n, bytes: 2n, ifindex: 3, flags: 0 };
// All made first: what creating a map's objects teaches V8 is not under test.
const [warm, other, closing] = [make(), make(), make()];
const { set, get } = warm;
prepare(set);
prepare(get);
for (let i = 0; i < 100; i++) {
  warm.set(i, value);
  warm.get(i);
}
optimizeOnNextCall(set);
optimizeOnNextCall(get);
warm.set(1, value);
warm.get(1);
const out: Record<string, boolean[]> = { optimized: [optimized(set), optimized(get)] };
closing.close();
warm.set(2, value);
warm.get(2);
out.afterFirstClose = [optimized(set), optimized(get)];
other.set(3, value);
other.get(3);
out.afterAnotherMap = [optimized(set), optimized(get)];
warm.close();
other.close();
console.log(JSON.stringify(out));
