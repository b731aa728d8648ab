import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import { PodFirewall } from '../../firewall.js';
import { parseCluster } from '../../policy/cluster-file.js';
import { parsePolicies } from '../../policy/manifests.js';
import { podKey, policyKey, relabelCluster, type Cluster, type NetworkPolicy } from '../../policy/model.js';
import { cellsOf } from './cells.js';
import { CellProber } from './prober.js';
import { heldoutCluster, heldoutScenarios, type HeldoutScenario } from './scenarios.js';
import type { CellKind } from './vocabulary.js';
import { describeNeeds, hasCHelper, hasCommand, isRoot } from '../../../../../test/support/env.js';

/**
 * The held-out conformance suite on real namespaces: each scenario of
 * heldout/catalog on its own cluster (heldout/vocabulary.ts), every cell of
 * every step probed with real packets (the plain TCP/UDP matrix on ten
 * ports, and per scenario fragmented datagrams, forged and raw packets, SCTP
 * INITs) and compared with the oracle and the threat model (cells.ts). A
 * differing cell is probed once more before it counts. A scenario marked
 * `known` is an expected failure: it passes while it differs, and fails,
 * asking for its mark to be removed, once it does not. A step the firewall
 * refuses (or fails on) is a difference too; the instance is then brought
 * up afresh for the next scenario.
 */

const NAME = `pfh${process.pid % 10000}`;
const base = parseCluster(heldoutCluster);

interface Difference {
  readonly kind: CellKind;
  readonly text: string;
}

/** The differences as lines, the first 40 of them (a broken datapath can differ in thousands of cells). */
const listing = (found: readonly Difference[]) =>
  [...found.slice(0, 40).map((d) => d.text), ...(found.length > 40 ? [`... and ${found.length - 40} more`] : [])].join('\n');

describeNeeds(
  [isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCHelper('pod-raw-probe')],
  'held-out NetworkPolicy conformance on real namespaces',
  () => {
    let fw: PodFirewall | undefined;
    let prober: CellProber | undefined;
    let dirty = false;

    const fresh = async () => {
      prober?.close();
      fw?.close();
      prober = undefined;
      fw = undefined;
      fw = await PodFirewall.up(base, { name: NAME });
      prober = await CellProber.open(NAME, base);
      dirty = false;
    };

    beforeAll(fresh, 180_000);
    afterAll(() => {
      prober?.close();
      fw?.close();
      PodFirewall.down({ name: NAME });
    });

    /** Back to the plain cluster: no policies, the original labels (or a fresh instance when asked, or wedged). */
    const reset = async (s: HeldoutScenario) => {
      if (!dirty && !s.fresh) {
        try {
          fw!.delete(fw!.policies.map(policyKey));
          fw!.relabel({
            pods: Object.fromEntries(base.pods.map((p) => [podKey(p), { ...p.labels }])),
            namespaces: Object.fromEntries(base.namespaces.map((n) => [n.name, { ...n.labels }])),
          });
          return;
        } catch {
          // wedged: start afresh
        }
      }
      await fresh();
    };

    async function differences(s: HeldoutScenario): Promise<Difference[]> {
      await reset(s);
      const found: Difference[] = [];
      let cluster: Cluster = base;
      const policies = new Map<string, NetworkPolicy>();
      for (const [i, step] of s.steps.entries()) {
        const where = `${s.name} (step ${i + 1})`;
        const docs = step.apply ? parsePolicies(step.apply) : [];
        const change = { ...(step.podLabels ? { pods: step.podLabels } : {}), ...(step.namespaceLabels ? { namespaces: step.namespaceLabels } : {}) };
        try {
          if (docs.length > 0) fw!.apply(docs);
          if (step.delete) fw!.delete(step.delete);
          if (step.podLabels || step.namespaceLabels) fw!.relabel(change);
        } catch (e) {
          // A valid step refused, or an internal error on one: a difference, and the instance may be wedged.
          dirty = true;
          const why = TsbpfError.is(e) ? (e as Error).message : `internal error: ${String(e)}`;
          found.push({ kind: 'update', text: `${where}: the firewall refused the step: ${why}` });
          return found;
        }
        for (const p of docs) policies.set(policyKey(p), p);
        for (const k of step.delete ?? []) policies.delete(k);
        if (step.podLabels || step.namespaceLabels) cluster = relabelCluster(cluster, change);
        const cells = cellsOf(cluster, [...policies.values()], s.probes);
        const first = await prober!.observe(cells);
        let wrong = cells.filter((c) => first.get(c.key) !== c.expected);
        if (wrong.length > 0) {
          const again = await prober!.observe(wrong);
          wrong = wrong.filter((c) => again.get(c.key) !== c.expected);
        }
        for (const c of wrong) {
          found.push({
            kind: c.kind,
            text: `${where}: ${c.key} observed ${c.expected ? 'blocked' : 'allowed'}, expected ${c.expected ? 'allowed' : 'blocked'}`,
          });
        }
      }
      return found;
    }

    for (const s of heldoutScenarios) {
      const title = s.known ? `${s.name} [expected failure: ${s.known}]` : s.name;
      it(
        title,
        async ({ annotate }) => {
          const found = await differences(s).catch((e: unknown) => {
            dirty = true; // a probe that could not run: the next scenario starts afresh
            throw e;
          });
          if (s.tags.includes('sctp')) {
            await annotate(`this kernel has ${existsSync('/proc/sys/net/sctp') ? '' : 'no '}SCTP sockets; SCTP is probed with raw INIT packets`);
          }
          if (!s.known) {
            expect(found.length, listing(found)).toBe(0);
            return;
          }
          expect(found.length, `${s.name} passes now: remove its mark "${s.known}" (heldout/scenarios.ts)`).toBeGreaterThan(0);
          if (s.knownIn) {
            const others = found.filter((d) => !s.knownIn!.includes(d.kind));
            expect(others.length, `differences beyond ${s.knownIn.join(', ')} cells:\n${listing(others)}`).toBe(0);
          }
          const sample = found.slice(0, 3).map((d) => d.text);
          await annotate(`expected failure (${s.known}): ${found.length} difference(s), e.g. ${sample.join('; ')}`);
        },
        180_000,
      );
    }
  },
);
