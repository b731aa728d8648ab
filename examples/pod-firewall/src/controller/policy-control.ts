/**
 * Policy changes as map updates without a window: a new set of policies (or
 * labels) is compiled, planned against what the maps hold now (the two
 * generations of plan.ts), saved as the intent, and then written into the
 * idle generation, flipped live and cleaned up. Which policies make the new
 * set (create or replace, delete) is decided here too, by namespace/name.
 */
import { allocate, compile, policyPrefixes } from '../policy/compile.js';
import { policyKey, type Cluster, type NetworkPolicy } from '../policy/model.js';
import { planUpdate } from '../policy/plan.js';
import { writeState, type InstanceDirs, type SavedState } from './instance.js';
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

/**
 * Moves the maps to `cluster` under `policies` and returns the state saved.
 * Nothing changes if compiling fails. The intent is saved before the first
 * map write: if we die half-way, the next run plans from the maps towards it.
 */
export function updateMaps(
  maps: PinnedMaps,
  dirs: InstanceDirs,
  saved: SavedState,
  cluster: Cluster,
  policies: readonly NetworkPolicy[],
): { saved: SavedState; result: ApplyResult } {
  const started = performance.now();
  const alloc = allocate(saved.alloc, cluster, policies, policyPrefixes(policies));
  const next = compile(cluster, policies, alloc);
  const plan = planUpdate(maps.readLive(), next);
  const now: SavedState = { ...saved, cluster, policies, alloc };
  writeState(dirs, now);
  maps.execute(plan.write);
  maps.setGeneration(plan.flip);
  maps.execute(plan.cleanup);
  return { saved: now, result: { entries: next.policy.size, milliseconds: performance.now() - started } };
}
