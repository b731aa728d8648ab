/**
 * A separate agent process for the Kubernetes tests (bundled by them with
 * esbuild): `allocate KUBECONFIG NODE SETS_JSON` waits for "go" on stdin and
 * allocates every label set at once, printing set → number as JSON;
 * `source KUBECONFIG NODE` prints the first snapshot of an apiSnapshotSource,
 * stops it and must then exit on its own (nothing left running), and exits
 * with 3 if a timer the source made is still pending after stop(): an
 * unref'd timer would not keep the process alive, so exiting alone cannot
 * show one left behind.
 */
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { apiSnapshotSource } from '../api-source.js';
import { IdentityAllocator } from '../identities.js';

const [mode, kubeconfig, node, setsJson] = process.argv.slice(2);

async function allocate() {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig!);
  const allocator = new IdentityAllocator(kc, node!);
  const sets = JSON.parse(setsJson!) as string[];
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
  const ids = await Promise.all(sets.map((s) => allocator.allocate(s)));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(sets.map((s, i) => [s, ids[i]!.id])))}\n`);
}

/** Timers made from now on and neither fired (timeouts) nor cleared, with where they were made. */
function trackTimers(): Map<unknown, string> {
  const live = new Map<unknown, string>();
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = globalThis;
  const where = () => new Error().stack!.split('\n').slice(2, 6).join('\n');
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = st(
      (...a: unknown[]) => {
        live.delete(t);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.set(t, where());
    return t;
  }) as typeof setTimeout;
  globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = si(fn, ms, ...args);
    live.set(t, where());
    return t;
  }) as typeof setInterval;
  globalThis.clearTimeout = ((t: NodeJS.Timeout | undefined) => {
    live.delete(t);
    ct(t);
  }) as typeof clearTimeout;
  globalThis.clearInterval = ((t: NodeJS.Timeout | undefined) => {
    live.delete(t);
    ci(t);
  }) as typeof clearInterval;
  return live;
}

async function source() {
  const live = trackTimers();
  const src = apiSnapshotSource({ kubeconfig: kubeconfig!, node: node!, onProblem: (p) => process.stderr.write(`${p.kind}\n`) });
  let first: unknown;
  await src.start((s) => (first ??= s));
  await src.stop();
  process.stdout.write(`${JSON.stringify(first)}\n`);
  if (live.size > 0) {
    process.stderr.write(`${live.size} timer(s) still pending after stop():\n${[...live.values()].join('\n--\n')}\n`);
    process.exitCode = 3;
  }
}

(mode === 'allocate' ? allocate() : source()).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
