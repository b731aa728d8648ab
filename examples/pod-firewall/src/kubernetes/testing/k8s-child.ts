/**
 * A separate agent process for the Kubernetes tests (bundled by them with
 * esbuild): `allocate KUBECONFIG NODE SETS_JSON` waits for "go" on stdin and
 * allocates every label set at once, printing set → number as JSON;
 * `source KUBECONFIG NODE` prints the first snapshot of an apiSnapshotSource,
 * stops it and must then exit on its own (nothing left running).
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

async function source() {
  const src = apiSnapshotSource({ kubeconfig: kubeconfig!, node: node!, onProblem: (p) => process.stderr.write(`${p.kind}\n`) });
  let first: unknown;
  await src.start((s) => (first ??= s));
  await src.stop();
  process.stdout.write(`${JSON.stringify(first)}\n`);
}

(mode === 'allocate' ? allocate() : source()).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
