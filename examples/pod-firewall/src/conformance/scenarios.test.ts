/** The conformance catalog is well formed: names, tags, and steps that parse and name existing objects. */
import { describe, expect, it } from 'vitest';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey, policyKey } from '../policy/model.js';
import { conformanceCluster, scenarios } from './scenarios.js';

describe('conformance catalog', () => {
  it('has at least 30 uniquely named scenarios, each with steps and tags', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
    for (const s of scenarios) {
      expect(s.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(s.steps.length, s.name).toBeGreaterThan(0);
      expect(s.tags.length, s.name).toBeGreaterThan(0);
    }
  });

  const cluster = parseCluster(conformanceCluster);
  const podKeys = new Set(cluster.pods.map(podKey));
  const namespaces = new Set(cluster.namespaces.map((n) => n.name));

  for (const s of scenarios) {
    it(`${s.name}: every step parses and refers to existing objects`, () => {
      const live = new Set<string>();
      for (const step of s.steps) {
        for (const key of step.delete ?? []) {
          expect(live.has(key), `${s.name} deletes ${key}, which was never applied`).toBe(true);
          live.delete(key);
        }
        for (const p of step.apply ? parsePolicies(step.apply) : []) {
          expect(namespaces.has(p.metadata.namespace)).toBe(true);
          live.add(policyKey(p));
        }
        for (const key of Object.keys(step.podLabels ?? {})) expect(podKeys.has(key), key).toBe(true);
        for (const ns of Object.keys(step.namespaceLabels ?? {})) expect(namespaces.has(ns), ns).toBe(true);
        const changes = [step.apply, step.delete, step.podLabels, step.namespaceLabels].filter((x) => x !== undefined);
        expect(changes.length, `${s.name} has an empty step`).toBeGreaterThan(0);
      }
    });
  }
});
