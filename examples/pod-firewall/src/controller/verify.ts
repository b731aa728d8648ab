/**
 * Whether the maps enforce a saved state: the state compiled again and
 * compared, entry by entry, with what the live generation of the pinned maps
 * holds (policy entries exactly; endpoints by identity and isolation; the
 * ipcache by the answer every prefix gives). `status` reports a policy as
 * enforced only when this finds no difference.
 */
import { parsePrefix, prefixWithin } from '../policy/cidr.js';
import { IDENTITY_WORLD, compile, policyEntryKey, type CompiledState, type IpcacheEntry } from '../policy/compile.js';
import type { LiveState } from '../policy/plan.js';
import type { SavedState } from './instance.js';

/** The answer the ipcache gives for the addresses of `key`: the entry itself, or the longest compiled prefix containing it. */
function answerFor(state: CompiledState, key: string): IpcacheEntry | undefined {
  const own = state.ipcache.get(key);
  if (own) return own;
  const p = parsePrefix(key);
  let best: { len: number; e: IpcacheEntry } | undefined;
  for (const [k, e] of state.ipcache) {
    const q = parsePrefix(k);
    if (prefixWithin(p, q) && (!best || q.len > best.len)) best = { len: q.len, e };
  }
  return best?.e;
}

/** Differences between what `saved` compiles to and the live generation of `live` (at most `max`, described). */
export function differences(saved: SavedState, live: LiveState, max = 10): string[] {
  const local = saved.localPods && new Set(saved.localPods);
  const want = compile(saved.cluster, saved.policies, saved.alloc, undefined, local);
  const gen = live.generation;
  const out: string[] = [];
  const note = (s: string) => void (out.length < max && out.push(s));

  const livePolicy = new Map<string, number>();
  for (const e of live.policy.values()) if (e.generation === gen) livePolicy.set(policyEntryKey(e), e.policyId);
  let missing = 0;
  let wrong = 0;
  for (const [k, e] of want.policy) {
    const got = livePolicy.get(k);
    if (got === undefined) missing++;
    else if (got !== e.policyId) wrong++;
  }
  const extra = [...livePolicy.keys()].filter((k) => !want.policy.has(k)).length;
  if (missing > 0) note(`${missing} policy entries missing from the live generation`);
  if (wrong > 0) note(`${wrong} policy entries name another policy`);
  if (extra > 0) note(`${extra} policy entries in the live generation that no policy makes`);

  for (const [pod, e] of want.endpoints) {
    const got = live.endpoints.get(pod);
    if (!got) note(`endpoint ${pod} missing`);
    else if (got.endpointId !== e.endpointId || got.identity[gen] !== e.identity || got.flags[gen] !== e.flags) {
      note(`endpoint ${pod}: identity ${got.identity[gen]} flags ${got.flags[gen]}, want ${e.identity} flags ${e.flags}`);
    }
  }
  for (const [pod, got] of live.endpoints) if (!want.endpoints.has(pod) && got.flags[gen] !== 0) note(`endpoint ${pod} enforced but not in the cluster`);

  for (const [cidr, got] of live.ipcache) {
    const e = answerFor(want, cidr);
    const identity = e?.identity ?? IDENTITY_WORLD;
    const cidrIdentity = e?.cidrIdentity ?? 0;
    if (got.identity[gen] !== identity || got.cidrIdentity[gen] !== cidrIdentity) {
      note(`ipcache ${cidr}: identity ${got.identity[gen]}/${got.cidrIdentity[gen]}, want ${identity}/${cidrIdentity}`);
    }
  }
  for (const [cidr, e] of want.ipcache) {
    if (!live.ipcache.has(cidr)) note(`ipcache ${cidr} missing`);
    // Another node's pod has no veth here (state.json's `localPods`: the node's own).
    else if (e.pod !== undefined && (local?.has(e.pod) ?? true) && live.ipcache.get(cidr)!.pod !== e.pod)
      note(`ipcache ${cidr} does not lead to ${e.pod}'s veth`);
  }
  return out;
}
