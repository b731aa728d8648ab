/**
 * sampleStacks(): compiles and loads profile.bpf.c, samples cpu-clock on
 * every CPU at a frequency for a duration (in one process or all), and
 * reads back each distinct (process, kernel stack, user stack) with its
 * sample count, the stacks as raw addresses.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from '@tsbpf/compiler';
import { attachPerfEvent, loadCollection, LoaderError } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';

export interface SampleOptions {
  /** The process (tgid) to sample; undefined: every process. */
  readonly pid?: number;
  /** Seconds (default 5); sampling ends early when `signal` aborts. */
  readonly duration?: number;
  /** Samples per second per CPU (default 99, off the beat of timers at round rates). */
  readonly frequency?: number;
  readonly signal?: AbortSignal;
}

/** One distinct stack pair of one process and how often it was sampled. */
export interface RawStack {
  readonly pid: number;
  readonly comm: string;
  /** Leaf first; empty when the kernel stack could not be taken (`kernelError`, a negative errno) or the sample was in user mode. */
  readonly kernel: readonly bigint[];
  readonly user: readonly bigint[];
  readonly kernelError?: number;
  readonly userError?: number;
  readonly count: number;
}

export interface RawProfile {
  readonly stacks: RawStack[];
  /** Samples the counts hash had no room for. */
  readonly dropped: number;
  readonly frequency: number;
  /** Seconds actually sampled. */
  readonly seconds: number;
}

const KEY_SIZE = 28;
const EFAULT = 14;

function fail(message: string): LoaderError {
  return new LoaderError('INVALID_ARGUMENT', message).addContext('profile');
}

/** Checks the options (a typed INVALID_ARGUMENT for bad ones, ATTACH_TARGET for a process that does not exist). */
export function checkSampleOptions(o: SampleOptions): { pid: number; duration: number; frequency: number } {
  const pid = o.pid ?? 0;
  if (!Number.isSafeInteger(pid) || pid < 0 || pid > 0x3fffffff) throw fail(`pid must be a process id, not ${String(o.pid)}`);
  if (o.pid !== undefined && !existsSync(`/proc/${pid}`)) throw new LoaderError('ATTACH_TARGET', `no process ${pid}`).addContext('profile');
  const duration = o.duration ?? 5;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > 86_400)
    throw fail(`duration must be a number of seconds in (0, 86400], not ${String(o.duration)}`);
  const frequency = o.frequency ?? 99;
  if (!Number.isSafeInteger(frequency) || frequency < 1 || frequency > 100_000)
    throw fail(`frequency must be an integer in [1, 100000] Hz, not ${String(o.frequency)}`);
  return { pid, duration, frequency };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Samples stacks as the options say, then detaches and returns what was counted. */
export async function sampleStacks(options: SampleOptions = {}): Promise<RawProfile> {
  const { pid, duration, frequency } = checkSampleOptions(options);
  const source = fileURLToPath(new URL('../src/profile.bpf.c', import.meta.url));
  const { object } = await compile({ source });
  const spec = parseCollectionSpec(object);
  using collection = loadCollection(spec, { constants: { target_tgid: pid } });
  const started = performance.now();
  {
    using _link = attachPerfEvent(collection.programs.on_sample!, { event: 'cpu-clock', frequency });
    await sleep(duration * 1000, options.signal);
  }
  const seconds = (performance.now() - started) / 1000;
  const counts = collection.maps.counts!;
  const stackMap = collection.maps.stacks!;
  const stackCache = new Map<number, bigint[]>();
  const stackOf = (id: number): bigint[] => {
    let s = stackCache.get(id);
    if (!s) {
      const bytes = stackMap.lookup(new Uint8Array(new Uint32Array([id]).buffer));
      s = [];
      if (bytes) {
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let at = 0; at + 8 <= bytes.length; at += 8) {
          const ip = v.getBigUint64(at, true);
          if (ip === 0n) break;
          s.push(ip);
        }
      }
      stackCache.set(id, s);
    }
    return s;
  };
  const decoder = new TextDecoder();
  const stacks: RawStack[] = [];
  for (const key of counts.keys()) {
    const value = counts.lookup(key);
    if (!value || key.length < KEY_SIZE) continue;
    const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
    const kid = k.getInt32(4, true);
    const uid = k.getInt32(8, true);
    const comm = key.subarray(12, 28);
    const nul = comm.indexOf(0);
    stacks.push({
      pid: k.getUint32(0, true),
      comm: decoder.decode(nul < 0 ? comm : comm.subarray(0, nul)),
      kernel: kid >= 0 ? stackOf(kid) : [],
      user: uid >= 0 ? stackOf(uid) : [],
      // -EFAULT: no stack of that kind (a kernel thread has no user stack; a sample in user mode no kernel one).
      ...(kid < 0 && kid !== -EFAULT ? { kernelError: kid } : {}),
      ...(uid < 0 && uid !== -EFAULT ? { userError: uid } : {}),
      count: Number(new DataView(value.buffer, value.byteOffset).getBigUint64(0, true)),
    });
  }
  const bss = collection.maps['.bss']!.lookup(new Uint8Array(4));
  const dropped = bss ? Number(new DataView(bss.buffer, bss.byteOffset).getBigUint64(0, true)) : 0;
  return { stacks, dropped, frequency, seconds };
}
