/**
 * Policy changes as map updates without a window: a new set of policies (or
 * labels, or pods) is compiled, planned against what the maps hold now (the
 * two generations of plan.ts), saved as the idle generation's state, and then
 * written into the idle generation, flipped live and cleaned up. The flip is
 * the commit: before it the old state is in force (and state.json's live slot
 * says so), after it the new one. Which policies make the new set (create or
 * replace, delete) is decided here too, by namespace/name.
 */
import { allocate, compile, policyPrefixes } from '../policy/compile.js';
import { policyKey, type Cluster, type NetworkPolicy } from '../policy/model.js';
import { planUpdate, type Generation } from '../policy/plan.js';
import type { PodNetwork } from '../cluster/topology.js';
import { crashPoint } from './failpoint.js';
import type { SavedState } from './instance.js';
import type { PinnedMaps } from './map-records.js';

export interface ApplyResult {
  /** Policy entries in the new state. */
  readonly entries: number;
  readonly milliseconds: number;
}

/** `current` with `incoming` created or replacing the policy of the same namespace/name. */
export function withPolicies(current: readonly NetworkPolicy[], incoming: readonly NetworkPolicy[]): NetworkPolicy[] {
  const merged = new Map(current.map((p) => [policyKey(p), p]));
  for (const p of incoming) merged.set(policyKey(p), p);
  return [...merged.values()];
}

/** `current` without the policies named ('namespace/name'). */
export function withoutPolicies(current: readonly NetworkPolicy[], names: readonly string[]): NetworkPolicy[] {
  const gone = new Set(names);
  return current.filter((p) => !gone.has(policyKey(p)));
}

/** What an update moves to: a cluster under policies (and the pods' networks, when pods come or go). */
export interface Target {
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  readonly pods?: readonly PodNetwork[];
  /** Where new pods get addresses from now on (kept when absent). */
  readonly podCidr?: string;
  /** The pods of this node ('ns/pod'): only they are endpoints (absent: every pod of `cluster`; kept when absent). */
  readonly localPods?: readonly string[];
  /** Label set → identity, given (cluster-wide) rather than numbered here; replaces the saved ones. */
  readonly identities?: Readonly<Record<string, number>>;
}

/**
 * Moves the maps from `saved` (the enforced state) to `target` and returns
 * the state now enforced. Nothing changes if compiling fails. `save` records
 * the new state as the idle generation's before the first map write, so a
 * crash at any point leaves state.json naming, for each generation, what the
 * maps hold in it.
 */
export function updateMaps(
  maps: PinnedMaps,
  saved: SavedState,
  target: Target,
  save: (gen: Generation, state: SavedState) => void,
): { saved: SavedState; result: ApplyResult } {
  const started = performance.now();
  const { cluster, policies } = target;
  const given = target.identities ? { ...saved.alloc, identities: target.identities } : saved.alloc;
  const alloc = allocate(given, cluster, policies, policyPrefixes(policies));
  const localPods = target.localPods ?? saved.localPods;
  const next = compile(cluster, policies, alloc, undefined, localPods && new Set(localPods));
  const plan = planUpdate(maps.readLive(), next);
  const now: SavedState = {
    ...saved,
    cluster,
    policies,
    alloc,
    pods: target.pods ?? saved.pods,
    podCidr: target.podCidr ?? saved.podCidr,
    ...(localPods ? { localPods } : {}),
  };
  save(plan.flip, now);
  crashPoint('saved');
  maps.execute(plan.write);
  crashPoint('written');
  maps.setGeneration(plan.flip);
  crashPoint('flipped');
  maps.execute(plan.cleanup);
  crashPoint('cleaned');
  return { saved: now, result: { entries: next.policy.size, milliseconds: performance.now() - started } };
}
