/**
 * `pod-firewall demo --kubernetes` as a user runs it: the built command, a
 * real control plane, two nodes, two agents; the blocked flows it reports
 * after policies/demo.yaml are the oracle's count, and it leaves nothing
 * behind (namespaces, pins, servers).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { packageDir } from '../cluster/agents.js';
import { servedPorts } from '../controller/probe.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { isAllowed } from '../policy/oracle.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';

describeNeeds(
  [isRoot(), controlPlaneAvailable(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('openssl'), hasCommand('setpriv')],
  'pod-firewall demo --kubernetes',
  () => {
    it(
      'tells the story across two nodes and cleans up after itself',
      () => {
        const dir = packageDir();
        const r = spawnSync(process.execPath, [join(dir, 'dist', 'main.js'), 'demo', '--kubernetes'], { encoding: 'utf8', timeout: 40 * 60_000 });
        expect(r.status, r.stderr + r.stdout).toBe(0);
        const cluster = parseCluster(readFileSync(join(dir, 'clusters', 'demo.yaml'), 'utf8'));
        const policies = parsePolicies(readFileSync(join(dir, 'policies', 'demo.yaml'), 'utf8'));
        let blocked = 0;
        let flows = 0;
        for (const from of cluster.pods)
          for (const to of cluster.pods)
            for (const p of servedPorts(cluster)) {
              if (from === to) continue;
              flows++;
              if (!isAllowed(cluster, policies, { from, to, protocol: p.protocol, port: p.port })) blocked++;
            }
        const summaries = [...r.stdout.matchAll(/(\d+) of (\d+) flows blocked/g)].map((m) => [Number(m[1]), Number(m[2])]);
        expect(summaries).toEqual([
          [0, flows],
          [blocked, flows],
        ]);
        expect(r.stdout).toMatch(/both nodes enforce it [\d.]+ m?s after kubectl started/);
        // Nothing left: the nodes' and pods' namespaces, the agents' pins, the control plane's directory.
        expect(readdirSync('/run/netns').filter((n) => n.startsWith('pfk-'))).toEqual([]);
        expect(['pfk-node-1', 'pfk-node-2'].filter((n) => existsSync(join('/sys/fs/bpf', n)))).toEqual([]);
      },
      40 * 60_000,
    );
  },
);
