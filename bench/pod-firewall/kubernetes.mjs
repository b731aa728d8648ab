#!/usr/bin/env node
// Runs bench/pod-firewall/kubernetes.ts (the pod firewall as a Kubernetes controller:
// policy-to-enforcement latency, and the agents at 1,000 pods and 1,000 policies):
// bundles it with esbuild into the example's node_modules/.cache (it imports the example's
// TypeScript sources, which find their package and the control plane's Go modules from
// where they run, and the packages' built dist) and runs it as root. `npm run build` first.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'examples', 'pod-firewall', 'node_modules', '.cache', 'bench', 'pod-firewall-kubernetes.mjs');
await build({
  entryPoints: [join(here, 'kubernetes.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Packages (ours from their dist, koffi, client-node, ...) load from node_modules.
  packages: 'external',
  outfile: out,
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, [out], { stdio: 'inherit', env: { ...process.env, TSBPF_ROOT: root } });
process.exit(r.status ?? 1);
