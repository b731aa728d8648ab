/**
 * Cluster-wide identities: every agent gives a label set (`labelSetKey`) the
 * same number, kept as cluster-scoped PodFirewallIdentity objects named by
 * the number (the CRD is deploy/crd.yaml), allocated and garbage-collected
 * using only the API server's atomicity (create-if-absent, JSON-patch tests,
 * delete preconditions).
 *
 * Race analysis (also in the README):
 * - Allocation probes the names `candidates(set)`, a sequence seeded by a
 *   hash of the set, so agents allocating one set try the same names in the
 *   same order. create → 201: ours. 409 → read it: the same set is success
 *   (joined), another set → the next candidate. Two sets never share a
 *   number: the name is the number and a name exists once.
 * - Two agents can still end up with two numbers for one set when a number
 *   early in its sequence is freed (GC) between their probes: one saw it
 *   taken and moved on, the other created it. So the number of a set is not
 *   whatever the allocator returned but a rule every agent applies to the
 *   same objects: the SMALLEST live object holding the set
 *   (`resolveIdentities`). Agents watch the objects and converge on it; the
 *   larger duplicate is unused and collected.
 * - An agent uses a number only after claiming it: a JSON patch that tests
 *   the object's uid and set and rewrites a claim annotation (so its
 *   resourceVersion changes). Creating counts as claiming.
 * - GC deletes an object only after this agent has seen the SAME
 *   resourceVersion unused (no pod of its whole-cluster view resolves to
 *   it) for a grace period, and deletes with uid + resourceVersion
 *   preconditions. A claim races a delete: either the claim lands first, the
 *   resourceVersion changes and the delete fails (409) or waits another
 *   grace period (by then the collector's informer has the new pod), or the
 *   delete lands first and the claim fails (404/422), so the claimer
 *   allocates again before it emits anything. No agent ever uses a number it
 *   did not successfully claim after the object it names was created.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { CIDR_IDENTITY_FLAG, FIRST_IDENTITY } from '../policy/compile.js';
import { KubernetesError } from './errors.js';

export const IDENTITY_GROUP = 'podfirewall.tsbpf.dev';
export const IDENTITY_VERSION = 'v1';
export const IDENTITY_PLURAL = 'podfirewallidentities';
export const IDENTITY_KIND = 'PodFirewallIdentity';
/** Label holding `setHash(set)`: finds a set's objects by selector. */
export const SET_HASH_LABEL = 'podfirewall.tsbpf.dev/set-hash';
/** Annotation rewritten by every claim (node, time, nonce). */
export const CLAIM_ANNOTATION = 'podfirewall.tsbpf.dev/claim';
/** How many numbers of a set's sequence are tried before IDENTITY_EXHAUSTED. */
export const MAX_PROBES = 64;

/** A PodFirewallIdentity as the API serves it (the fields read here). */
export interface IdentityObject {
  readonly metadata?: {
    readonly name?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: unknown;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly labelSet?: unknown };
}

export interface IdentityRecord {
  readonly id: number;
  readonly labelSet: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** 32 hex digits of SHA-256: a label value naming the set (the set itself may be longer than a label value). */
export const setHash = (labelSet: string) => createHash('sha256').update(labelSet).digest('hex').slice(0, 32);

const SPAN = CIDR_IDENTITY_FLAG - FIRST_IDENTITY;

/** The numbers a set may get, in the order every agent tries them: each from a hash of the set and its index. */
export function candidates(labelSet: string, count = MAX_PROBES): number[] {
  const out: number[] = [];
  for (let i = 0; out.length < count; i++) {
    const h = createHash('sha256').update(`${i}\n${labelSet}`).digest();
    const id = FIRST_IDENTITY + (h.readUIntBE(0, 6) % SPAN);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** The record of a well-formed object (name a number in range, a set), else undefined. */
export function identityRecord(o: IdentityObject): IdentityRecord | undefined {
  const name = o.metadata?.name ?? '';
  const id = /^[1-9][0-9]{0,9}$/.test(name) ? Number(name) : NaN;
  const labelSet = o.spec?.labelSet;
  if (!(id >= FIRST_IDENTITY && id < CIDR_IDENTITY_FLAG) || typeof labelSet !== 'string' || labelSet === '') return undefined;
  return { id, labelSet, uid: o.metadata?.uid ?? '', resourceVersion: o.metadata?.resourceVersion ?? '' };
}

/** Set → its number: the smallest live (not being deleted) object holding it. The rule every agent applies. */
export function resolveIdentities(objects: Iterable<IdentityObject>): Map<string, IdentityRecord> {
  const out = new Map<string, IdentityRecord>();
  for (const o of objects) {
    const r = o.metadata?.deletionTimestamp ? undefined : identityRecord(o);
    if (!r) continue;
    const had = out.get(r.labelSet);
    if (!had || r.id < had.id) out.set(r.labelSet, r);
  }
  return out;
}

/** The object that `create` sends for a set's candidate. */
export function identityManifest(id: number, labelSet: string, claim: string) {
  return {
    apiVersion: `${IDENTITY_GROUP}/${IDENTITY_VERSION}`,
    kind: IDENTITY_KIND,
    metadata: { name: String(id), labels: { [SET_HASH_LABEL]: setHash(labelSet) }, annotations: { [CLAIM_ANNOTATION]: claim } },
    spec: { labelSet },
  };
}

const statusOf = (err: unknown) => (err instanceof ApiException ? err.code : undefined);

function apiFailed(what: string, err: unknown): KubernetesError {
  const status = statusOf(err);
  const detail = status !== undefined ? `HTTP ${status}` : err instanceof Error ? err.message : String(err);
  return new KubernetesError('API_FAILED', `${what}: ${detail}`, { cause: err });
}

/** Allocates, claims and deletes PodFirewallIdentity objects for one agent. */
export class IdentityAllocator {
  private readonly api: CustomObjectsApi;
  private readonly base = { group: IDENTITY_GROUP, version: IDENTITY_VERSION, plural: IDENTITY_PLURAL };

  constructor(
    kubeConfig: KubeConfig,
    /** Written into claims: who claimed (the node name). */
    private readonly claimant: string,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private claimValue() {
    return `${this.claimant} ${new Date().toISOString()} ${randomBytes(4).toString('hex')}`;
  }

  private async get(id: number): Promise<IdentityObject | undefined> {
    try {
      return (await this.api.getClusterCustomObject({ ...this.base, name: String(id) })) as IdentityObject;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw apiFailed(`get ${IDENTITY_KIND} ${id}`, err);
    }
  }

  /**
   * The set's number, created or joined, claimed by this agent. Another
   * number may be the set's by `resolveIdentities` (a duplicate made in a
   * race): callers resolve from their view of all objects and claim that.
   */
  async allocate(labelSet: string): Promise<IdentityRecord> {
    for (const id of candidates(labelSet)) {
      // A candidate deleted between our create and our read is tried again (a few times: a GC storm is not a reason to skip it).
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const created = (await this.api.createClusterCustomObject({
            ...this.base,
            body: identityManifest(id, labelSet, this.claimValue()),
          })) as IdentityObject;
          const r = identityRecord(created);
          if (r) return r;
          throw new KubernetesError('API_FAILED', `create ${IDENTITY_KIND} ${id}: the server returned a malformed object`);
        } catch (err) {
          if (statusOf(err) !== 409) throw err instanceof KubernetesError ? err : apiFailed(`create ${IDENTITY_KIND} ${id}`, err);
        }
        const existing = await this.get(id);
        if (!existing || existing.metadata?.deletionTimestamp) continue;
        const r = identityRecord(existing);
        if (r?.labelSet !== labelSet) break;
        const claimed = await this.claim(r);
        if (claimed) return claimed;
      }
    }
    throw new KubernetesError('IDENTITY_EXHAUSTED', `no free identity for label set ${labelSet}: all ${MAX_PROBES} candidates belong to other label sets`);
  }

  /**
   * Marks the agent's use of an identity. Undefined when the object is gone
   * or was replaced (its uid or set differs): allocate again.
   */
  async claim(r: IdentityRecord): Promise<IdentityRecord | undefined> {
    const ops = [
      { op: 'test', path: '/metadata/uid', value: r.uid },
      { op: 'test', path: '/spec/labelSet', value: r.labelSet },
      { op: 'add', path: `/metadata/annotations`, value: { [CLAIM_ANNOTATION]: this.claimValue() } },
    ];
    try {
      const patched = (await this.api.patchClusterCustomObject(
        { ...this.base, name: String(r.id), body: ops },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as IdentityObject;
      return identityRecord(patched);
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409 || status === 422) return undefined;
      throw apiFailed(`claim ${IDENTITY_KIND} ${r.id}`, err);
    }
  }

  /** Deletes the object if it is still exactly `r` (uid and resourceVersion); false when it changed or is gone. */
  async deleteIfUnchanged(r: IdentityRecord): Promise<boolean> {
    try {
      await this.api.deleteClusterCustomObject({
        ...this.base,
        name: String(r.id),
        body: { preconditions: { uid: r.uid, resourceVersion: r.resourceVersion } },
      });
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) return false;
      throw apiFailed(`delete ${IDENTITY_KIND} ${r.id}`, err);
    }
  }
}

/**
 * Which identities may be deleted: those this agent has seen unused, at the
 * same resourceVersion, for `graceMs`. Pure bookkeeping; the caller feeds it
 * its view and deletes what it returns with `deleteIfUnchanged`.
 */
export class IdentityCollector {
  private readonly unusedSince = new Map<string, { resourceVersion: string; since: number }>();

  constructor(private readonly graceMs: number) {}

  /** `objects`: every identity object seen; `used`: the records pods resolve to now. Returns the records due for deletion. */
  due(objects: Iterable<IdentityObject>, used: Iterable<IdentityRecord>, now: number): IdentityRecord[] {
    const inUse = new Set([...used].map((r) => r.uid));
    const seen = new Set<string>();
    const out: IdentityRecord[] = [];
    for (const o of objects) {
      const r = identityRecord(o);
      if (!r || o.metadata?.deletionTimestamp) continue;
      seen.add(r.uid);
      if (inUse.has(r.uid)) {
        this.unusedSince.delete(r.uid);
        continue;
      }
      const had = this.unusedSince.get(r.uid);
      if (!had || had.resourceVersion !== r.resourceVersion) this.unusedSince.set(r.uid, { resourceVersion: r.resourceVersion, since: now });
      else if (now - had.since >= this.graceMs) out.push(r);
    }
    for (const uid of this.unusedSince.keys()) if (!seen.has(uid)) this.unusedSince.delete(uid);
    return out;
  }
}
