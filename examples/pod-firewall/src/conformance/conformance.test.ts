import { afterAll, beforeAll, expect, it } from 'vitest';
import { PodFirewall } from '../firewall.js';
import { podKey, policyKey, relabelCluster, type NetworkPolicy } from '../policy/model.js';
import { isAllowed } from '../policy/oracle.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { conformanceCluster, scenarios } from './scenarios.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';

/**
 * The conformance suite: every scenario of the catalog on a real 3 × 3 pod
 * cluster. After each step, every pod pair is probed on TCP and UDP 80/81 with
 * real connections and compared with the independent oracle; there must be no
 * difference. A cell that differs is probed once more before it counts (as
 * cyclonus retries), so a probe lost to a busy machine does not fail the run.
 */

const NAME = `pfk${process.pid % 10000}`;
const base = parseCluster(conformanceCluster);

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'NetworkPolicy conformance on real namespaces', () => {
  let fw: PodFirewall;
  beforeAll(async () => {
    fw = await PodFirewall.up(base, { name: NAME });
  }, 120_000);
  afterAll(() => {
    fw?.close();
    PodFirewall.down({ name: NAME });
  });

  it(`runs ${scenarios.length} scenarios; every pod pair, port and protocol matches the oracle`, async () => {
    const ports = fw.servedPorts();
    const report: string[] = [];
    let probes = 0;
    for (const scenario of scenarios) {
      // Back to the plain cluster: no policies, original labels.
      fw.delete(fw.policies.map(policyKey));
      fw.relabel({
        pods: Object.fromEntries(base.pods.map((p) => [podKey(p), { ...p.labels }])),
        namespaces: Object.fromEntries(base.namespaces.map((n) => [n.name, { ...n.labels }])),
      });
      let cluster = base;
      let policies = new Map<string, NetworkPolicy>();
      for (const [i, step] of scenario.steps.entries()) {
        if (step.apply) {
          const docs = parsePolicies(step.apply);
          fw.apply(docs);
          for (const p of docs) policies.set(policyKey(p), p);
        }
        if (step.delete) {
          fw.delete(step.delete);
          policies = new Map([...policies].filter(([k]) => !step.delete!.includes(k)));
        }
        if (step.podLabels || step.namespaceLabels) {
          const change = { ...(step.podLabels ? { pods: step.podLabels } : {}), ...(step.namespaceLabels ? { namespaces: step.namespaceLabels } : {}) };
          fw.relabel(change);
          cluster = relabelCluster(cluster, change);
        }
        const expected = (key: string) => {
          const [pair, proto] = key.split(':') as [string, string];
          const [from, to] = pair.split('->').map((k) => cluster.pods.find((p) => podKey(p) === k)!);
          const [protocol, port] = proto.split('/') as ['TCP' | 'UDP', string];
          return isAllowed(cluster, [...policies.values()], { from: from!, to: to!, protocol, port: Number(port) });
        };
        let observed = await fw.probe(ports);
        probes += observed.size;
        let wrong = [...observed].filter(([k, ok]) => ok !== expected(k)).map(([k]) => k);
        if (wrong.length > 0) {
          const again = await fw.probe(ports);
          wrong = wrong.filter((k) => again.get(k) !== expected(k));
          observed = again;
        }
        for (const k of wrong)
          report.push(
            `${scenario.name} (step ${i + 1}): ${k} observed ${observed.get(k) ? 'allowed' : 'denied'}, oracle says ${expected(k) ? 'allowed' : 'denied'}`,
          );
      }
    }
    expect(report).toEqual([]);
    expect(probes).toBeGreaterThan(scenarios.length * 9 * 8 * 4 - 1);
  }, 600_000);
});
