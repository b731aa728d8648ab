/**
 * The child process of packages/maps/src/ring-buffer-jit.test.ts (bundled
 * from the sources, run under node --allow-natives-syntax): optimizes what a
 * ring buffer's loop asks on every record (RingBuffer's `stopped`, the epoll
 * wait's `closed`) on one stream, then closes another stream (the process's
 * first close of a reader) and prints one JSON line: whether V8 still holds
 * them optimized.
 */
import { BpfMap } from '@tsbpf/loader';
import { RingBuffer, struct, u32, u64 } from '@tsbpf/maps';

const native = (body: string) => new Function('f', body) as (f: unknown) => number;
const status = native('return %GetOptimizationStatus(f)');
const prepare = native('%PrepareFunctionForOptimization(f)');
const optimizeOnNextCall = native('%OptimizeFunctionOnNextCall(f)');
/** Bit 4 of the status: the function runs optimized code. */
const optimized = (f: unknown): boolean => (status(f) & 16) !== 0;

const Event = struct({ seq: u64, len: u32, flags: u32 });
const make = () => new RingBuffer(BpfMap.create({ type: 27 /* ringbuf */, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'jit' }), Event);
// Both made first: what creating a reader teaches V8 is not under test.
const [warm, closing] = [make(), make()];
// Reached past TypeScript's `protected`: the functions the loop calls for every record.
const stream = warm as unknown as { stopped(): boolean; reader: { epoll: object } };
const stopped = Object.getPrototypeOf(Object.getPrototypeOf(stream)).stopped as (this: unknown) => boolean;
const closedGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(stream.reader.epoll), 'closed')!.get!;
const ask = () => stopped.call(stream) || closedGetter.call(stream.reader.epoll);
prepare(stopped);
prepare(closedGetter);
for (let i = 0; i < 100; i++) ask();
optimizeOnNextCall(stopped);
optimizeOnNextCall(closedGetter);
ask();
const out: Record<string, boolean[]> = { optimized: [optimized(stopped), optimized(closedGetter)] };
closing.close();
ask();
out.afterFirstClose = [optimized(stopped), optimized(closedGetter)];
warm.close();
console.log(JSON.stringify(out));
