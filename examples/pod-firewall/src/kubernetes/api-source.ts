/**
 * The agent's SnapshotSource fed by a real API server: informers on
 * Namespaces, Pods, NetworkPolicies and PodFirewallIdentities; after all of
 * them listed, one complete NodeSnapshot per change (bursts coalesced), each
 * pod in it only once its label set's identity is allocated and claimed;
 * watch errors retried (a resumed watch, or a re-list when its
 * resourceVersion expired: level-triggered); unused identities collected.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { labelSetKey } from '../policy/compile.js';
import type { PolicyError } from '../policy/errors.js';
import { podKey } from '../policy/model.js';
import { KubernetesError } from './errors.js';
import {
  IDENTITY_GROUP,
  IDENTITY_PLURAL,
  IDENTITY_VERSION,
  IdentityAllocator,
  IdentityCollector,
  resolveIdentities,
  type IdentityObject,
  type IdentityRecord,
} from './identities.js';
import type { NodeSnapshot, SnapshotSource } from './snapshot.js';
import { translateAll, translationCache, type ApiNamespace, type ApiNetworkPolicy, type ApiPod } from './translate.js';

/** Something the source could not take as it is; it goes on (fail-closed policies, pods left out, retries). */
export type SourceProblem =
  | { readonly kind: 'policy'; readonly policy: string; readonly error: PolicyError }
  | { readonly kind: 'pod'; readonly pod: string; readonly reason: string }
  /** `kept`: the number of the last snapshot, still used while the claim fails. */
  | { readonly kind: 'identity'; readonly labelSet: string; readonly error: KubernetesError; readonly kept?: number }
  | { readonly kind: 'watch'; readonly resource: string; readonly error: unknown }
  | { readonly kind: 'gc'; readonly error: KubernetesError };

export interface ApiSourceOptions {
  /** Path of a kubeconfig; absent: the in-cluster ServiceAccount (a DaemonSet pod). */
  readonly kubeconfig?: string;
  /** This node's name: pods with this `spec.nodeName` are its endpoints. */
  readonly node: string;
  /** Changes within this many ms make one snapshot (default 50). */
  readonly coalesceMs?: number;
  /** An identity is deleted after this agent saw it unused, unchanged, this long (default 300,000: 5 min). */
  readonly identityGraceMs?: number;
  /** Each problem once (while it lasts); default: a line on stderr. */
  readonly onProblem?: (p: SourceProblem) => void;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
const CLAIM_CONCURRENCY = 16;
/** Deleted identity uids remembered (a claim answered after its object's deletion was seen must not count). */
const DELETED_REMEMBERED = 4096;

function problemText(p: SourceProblem): string {
  switch (p.kind) {
    case 'policy':
      return `policy ${p.policy} enforced fail-closed (isolation, no rules): ${p.error.message}`;
    case 'pod':
      return `pod ${p.pod} left out: ${p.reason}`;
    case 'identity':
      return p.kept === undefined
        ? `pods of label set ${p.labelSet} left out: ${p.error.message}`
        : `label set ${p.labelSet} keeps identity ${p.kept} for now: ${p.error.message}`;
    case 'watch':
      return `watch of ${p.resource} failed (retrying): ${p.error instanceof Error ? p.error.message : String(p.error)}`;
    case 'gc':
      return `identity garbage collection: ${p.error.message}`;
  }
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path === undefined) kc.loadFromCluster();
    else kc.loadFromFile(path);
  } catch (err) {
    throw new KubernetesError('KUBECONFIG_INVALID', `kubeconfig ${path ?? '(in-cluster)'}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!kc.getCurrentCluster()) throw new KubernetesError('KUBECONFIG_INVALID', `kubeconfig ${path ?? '(in-cluster)'}: names no current cluster`);
  return kc;
}

/** One informer that restarts itself after errors (with backoff) until stopped. */
class Watched<T extends KubernetesObject> {
  readonly informer: ListWatch<T>;
  synced = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly resource: string,
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly changed: () => void,
    private readonly failed: (err: unknown) => void,
    onDelete?: (o: T) => void,
  ) {
    this.informer = new ListWatch<T>(path, new Watch(kc), list, false);
    this.informer.on('change', () => changed());
    if (onDelete) this.informer.on('delete', onDelete);
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.failed(err);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.run(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  async run(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    await this.informer.start();
    // start() resolves after a failed list too (the error callback ran); a resourceVersion means the list arrived.
    if (this.informer.latestResourceVersion() !== '') {
      this.retryMs = RETRY_FIRST_MS;
      if (!this.synced) {
        this.synced = true;
        this.changed();
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }
}

class ApiSnapshotSource implements SnapshotSource {
  private readonly kc: KubeConfig;
  private readonly allocator: IdentityAllocator;
  private readonly collector: IdentityCollector;
  private readonly watched: Watched<KubernetesObject>[] = [];
  private namespaces!: Watched<KubernetesObject>;
  private pods!: Watched<KubernetesObject>;
  private policies!: Watched<KubernetesObject>;
  private identities!: Watched<KubernetesObject>;
  /** Identities this agent claimed (or created), by uid: the only ones its snapshots use. */
  private readonly claimed = new Map<string, IdentityRecord>();
  private readonly deletedUids = new Set<string>();
  private readonly translations = translationCache();
  private onSnapshot: ((s: NodeSnapshot) => void) | undefined;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private timer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private retryMs = RETRY_FIRST_MS;
  private lastEmitted = '';
  private lastIdentities: Readonly<Record<string, number>> = {};
  private reported = new Set<string>();
  private firstSnapshot!: { resolve: () => void; promise: Promise<void> };

  constructor(private readonly o: ApiSourceOptions) {
    this.kc = loadKubeConfig(o.kubeconfig);
    this.allocator = new IdentityAllocator(this.kc, o.node);
    this.collector = new IdentityCollector(o.identityGraceMs ?? 300_000);
  }

  private report(problems: SourceProblem[]) {
    const now = new Set<string>();
    for (const p of problems) {
      const text = problemText(p);
      now.add(text);
      if (this.reported.has(text)) continue;
      if (this.o.onProblem) this.o.onProblem(p);
      else process.stderr.write(`pod-firewall: ${text}\n`);
    }
    this.reported = now;
  }

  private reportOnce(p: SourceProblem) {
    if (this.o.onProblem) this.o.onProblem(p);
    else process.stderr.write(`pod-firewall: ${problemText(p)}\n`);
  }

  async start(onSnapshot: (s: NodeSnapshot) => void): Promise<void> {
    if (this.state !== 'new') throw new KubernetesError('SOURCE_STOPPED', `the snapshot source for node ${this.o.node} was already ${this.state}`);
    this.state = 'started';
    this.onSnapshot = onSnapshot;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstSnapshot = { resolve, promise };
    const core = this.kc.makeApiClient(CoreV1Api);
    const net = this.kc.makeApiClient(NetworkingV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const changed = () => this.schedule();
    const watch = (resource: string, path: string, list: () => Promise<unknown>, onDelete?: (o: KubernetesObject) => void) => {
      const failed = (error: unknown) => this.reportOnce({ kind: 'watch', resource, error });
      const w = new Watched(resource, this.kc, path, list as () => Promise<KubernetesListObject<KubernetesObject>>, changed, failed, onDelete);
      this.watched.push(w);
      return w;
    };
    this.namespaces = watch('namespaces', '/api/v1/namespaces', () => core.listNamespace());
    this.pods = watch('pods', '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.policies = watch('networkpolicies', '/apis/networking.k8s.io/v1/networkpolicies', () => net.listNetworkPolicyForAllNamespaces());
    this.identities = watch(
      IDENTITY_PLURAL,
      `/apis/${IDENTITY_GROUP}/${IDENTITY_VERSION}/${IDENTITY_PLURAL}`,
      () => custom.listClusterCustomObject({ group: IDENTITY_GROUP, version: IDENTITY_VERSION, plural: IDENTITY_PLURAL }),
      (o) => {
        if (!o.metadata?.uid) return;
        this.deletedUids.add(o.metadata.uid);
        if (this.deletedUids.size > DELETED_REMEMBERED) this.deletedUids.delete(this.deletedUids.values().next().value!);
      },
    );
    await Promise.all(this.watched.map((w) => w.run()));
    const tick = Math.max(1000, Math.min(60_000, (this.o.identityGraceMs ?? 300_000) / 2));
    this.gcTimer = setInterval(() => this.schedule(), tick);
    this.gcTimer.unref();
    await this.firstSnapshot.promise;
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.timer);
    clearInterval(this.gcTimer);
    clearTimeout(this.retryTimer);
    await Promise.all(this.watched.map((w) => w.stop()));
    await this.running;
    clearTimeout(this.retryTimer);
    this.firstSnapshot?.resolve();
  }

  private schedule(delay = this.o.coalesceMs ?? 50) {
    if (this.state !== 'started') return;
    this.dirty = true;
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.dirty) this.schedule();
      });
    }, delay);
  }

  private async run() {
    this.dirty = false;
    // Until every informer has listed there is nothing to say; the last one to list schedules the first pass.
    if (!this.watched.every((w) => w.synced)) return;
    const failures = await this.reconcile();
    if (failures > 0 && this.state === 'started') {
      // Retry the failed allocations later; other changes still schedule sooner.
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.schedule(0), wait);
    } else this.retryMs = RETRY_FIRST_MS;
  }

  /** Identity objects as this agent knows them: the informer's, plus what it claimed and the informer has not shown yet. */
  private identityObjects(): IdentityObject[] {
    const cached = this.identities.informer.list() as IdentityObject[];
    const uids = new Set(cached.map((o) => o.metadata?.uid));
    const names = new Set(cached.map((o) => o.metadata?.name));
    for (const [uid, r] of this.claimed) {
      if (this.deletedUids.has(uid) || (!uids.has(uid) && names.has(String(r.id)))) this.claimed.delete(uid);
    }
    const extra = [...this.claimed.values()]
      .filter((r) => !uids.has(r.uid))
      .map((r): IdentityObject => ({ metadata: { name: String(r.id), uid: r.uid, resourceVersion: r.resourceVersion }, spec: { labelSet: r.labelSet } }));
    return [...cached, ...extra];
  }

  /** Claims the set's identity (allocating one when it has none, or it vanished); a failure goes into `failed`. */
  private async ensure(set: string, known: IdentityRecord | undefined, failed: Map<string, KubernetesError>) {
    try {
      const r = (known && (await this.allocator.claim(known))) ?? (await this.allocator.allocate(set));
      this.claimed.set(r.uid, r);
    } catch (err) {
      if (!(err instanceof KubernetesError)) throw err;
      failed.set(set, err);
    }
  }

  /** One pass: translate, make sure every label set has a claimed identity, emit, collect. Returns how many sets failed. */
  private async reconcile(): Promise<number> {
    const t = translateAll(
      {
        namespaces: this.namespaces.informer.list() as ApiNamespace[],
        pods: this.pods.informer.list() as ApiPod[],
        policies: this.policies.informer.list() as ApiNetworkPolicy[],
      },
      this.translations,
    );
    const problems: SourceProblem[] = [
      ...t.policyProblems.map((p): SourceProblem => ({ kind: 'policy', policy: p.policy, error: p.error })),
      ...t.podProblems.map((p): SourceProblem => ({ kind: 'pod', pod: p.pod, reason: p.reason })),
    ];
    const sets = new Set(t.cluster.pods.map((p) => labelSetKey(t.cluster, p)));
    const failed = new Map<string, KubernetesError>();
    // Claim the identity each set resolves to (allocating when none, or when it vanished under us) until all are ours.
    for (let round = 0; round < 4; round++) {
      const resolved = resolveIdentities(this.identityObjects());
      const todo = [...sets].filter((s) => !failed.has(s) && !this.claimed.has(resolved.get(s)?.uid ?? ''));
      if (todo.length === 0) break;
      // A few at a time: an agent starting in a big cluster claims every set once.
      for (let i = 0; i < todo.length; i += CLAIM_CONCURRENCY) {
        if (this.state !== 'started') return 0;
        await Promise.all(todo.slice(i, i + CLAIM_CONCURRENCY).map((set) => this.ensure(set, resolved.get(set), failed)));
      }
    }
    if (this.state !== 'started') return 0;
    const objects = this.identityObjects();
    const resolved = resolveIdentities(objects);
    const numberOf = new Map<string, number>();
    for (const set of sets) {
      const r = resolved.get(set);
      if (r !== undefined && this.claimed.has(r.uid)) numberOf.set(set, r.id);
    }
    const unresolved = [...sets].filter((s) => !numberOf.has(s));
    // A set that had a number in the last snapshot keeps it while its claim fails (the API is down, say): its pods stay
    // enforced as they were. Unless another set's object now holds that number.
    const holder = new Map(objects.map((o) => [o.metadata?.name, o.spec?.labelSet]));
    const taken = new Set(numberOf.values());
    for (const set of unresolved) {
      const id = this.lastIdentities[set];
      if (id === undefined || taken.has(id) || (holder.get(String(id)) ?? set) !== set) continue;
      numberOf.set(set, id);
      taken.add(id);
    }
    for (const s of unresolved) {
      const error = failed.get(s) ?? new KubernetesError('API_FAILED', 'identity not claimed yet (retrying)');
      problems.push({ kind: 'identity', labelSet: s, error, ...(numberOf.has(s) ? { kept: numberOf.get(s) } : {}) });
    }
    this.report(problems);
    // A pod appears only with its identity: left out, it is judged by its address alone (see the README).
    const pods = t.cluster.pods.filter((p) => numberOf.has(labelSetKey(t.cluster, p)));
    const cluster = { namespaces: t.cluster.namespaces, pods };
    const identities: Record<string, number> = {};
    for (const p of pods) {
      const set = labelSetKey(cluster, p);
      identities[set] = numberOf.get(set)!;
    }
    this.lastIdentities = identities;
    const snapshot: NodeSnapshot = {
      node: this.o.node,
      cluster,
      policies: t.policies,
      identities,
      localPods: pods.filter((p) => t.nodeOf.get(podKey(p)) === this.o.node).map(podKey),
    };
    const text = JSON.stringify(snapshot);
    if (text !== this.lastEmitted) {
      this.lastEmitted = text;
      this.onSnapshot?.(snapshot);
    }
    this.firstSnapshot.resolve();
    if (unresolved.length === 0) await this.collect([...resolved.values()].filter((r) => sets.has(r.labelSet)));
    return unresolved.length;
  }

  private async collect(used: IdentityRecord[]) {
    const objects = this.identities.informer.list() as IdentityObject[];
    for (const r of this.collector.due(objects, used, Date.now())) {
      if (this.state !== 'started') return;
      try {
        if (await this.allocator.deleteIfUnchanged(r)) this.claimed.delete(r.uid);
      } catch (err) {
        if (!(err instanceof KubernetesError)) throw err;
        this.reportOnce({ kind: 'gc', error: err });
      }
    }
  }
}

/**
 * The snapshot source of a node's agent: `start` resolves after the first
 * snapshot (every informer listed, every identity claimed); `stop` ends the
 * watches and timers. Throws KUBECONFIG_INVALID at once for a kubeconfig it
 * cannot read; API errors are retried and reported through `onProblem`.
 */
export function apiSnapshotSource(o: ApiSourceOptions): SnapshotSource {
  return new ApiSnapshotSource(o);
}
