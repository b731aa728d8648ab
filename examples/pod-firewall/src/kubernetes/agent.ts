/**
 * The per-node agent: `runAgent` takes snapshots from a SnapshotSource (the
 * API server's informers, or a test's hand) and applies them to its node's
 * datapath, newest first (snapshots that arrive while one is being applied
 * are coalesced: only the newest pending one is applied), logging one line
 * per change. A snapshot that leaves pods of this node waiting for their
 * veth, or whose apply failed on the machine, is applied again after
 * `retryMs` (one the node refuses, or whose policies do not compile, is not). Until its first
 * snapshot a (re)starting agent writes nothing: the pinned maps keep
 * enforcing the last state, never a more open one.
 */
import type { FirewallOptions } from '../controller/instance.js';
import { FirewallError } from '../errors.js';
import { CompileError, PolicyError } from '../policy/errors.js';
import { NodeDatapath, type NodeChange } from './node-datapath.js';
import type { NodeSnapshot, SnapshotSource } from './snapshot.js';

export interface AgentOptions extends FirewallOptions {
  readonly source: SnapshotSource;
  /** The node (`spec.nodeName`) this agent programs. */
  readonly node: string;
  /** The firewall instance of this node (its pins under bpffs, its run directory, its node namespace). */
  readonly name: string;
  /** Where the one line per change goes (default: stdout). */
  readonly log?: (line: string) => void;
  /** The pods' veths are in this process's own network namespace (a DaemonSet with hostNetwork); see NodeDatapathOptions. */
  readonly ownNetns?: boolean;
  /** How long before the newest snapshot is applied again while pods wait for their veth, or after a failure (default 1000 ms). */
  readonly retryMs?: number;
  /** Hears each apply: what it changed or why it failed, how long it took, and the policy ids now enforced ('ns/name' → id). */
  readonly onApply?: (a: AppliedSnapshot) => void;
}

export interface AppliedSnapshot {
  readonly snapshot: NodeSnapshot;
  readonly change?: NodeChange;
  readonly error?: Error;
  readonly seconds: number;
  readonly policyIds: Readonly<Record<string, number>>;
}

export interface AgentOutcome {
  /** The last apply's change (undefined before the first). */
  readonly change?: NodeChange;
  /** Why the last apply failed (the node kept enforcing what it did before). */
  readonly error?: Error;
  /** Snapshots applied (coalesced ones not counted). */
  readonly applies: number;
}

export interface NodeAgent extends AsyncDisposable {
  /** Resolves once every snapshot offered so far is applied (or coalesced into a newer one). */
  settled(): Promise<AgentOutcome>;
  /** Stops taking snapshots; the datapath stays pinned and enforcing. */
  stop(): Promise<void>;
}

/** Starts the agent of one node: its datapath loaded (or adopted), then the source started. */
export async function runAgent(o: AgentOptions): Promise<NodeAgent> {
  const datapath = await NodeDatapath.open({ ...o, node: o.node });
  const agent = new Agent(datapath, o.source, o.log ?? ((line) => console.log(line)), o.retryMs ?? 1000, o.onApply);
  try {
    await o.source.start((s) => agent.offer(s));
  } catch (e) {
    await agent.stop();
    throw e;
  }
  return agent;
}

class Agent implements NodeAgent {
  private pending: NodeSnapshot | undefined;
  private latest: NodeSnapshot | undefined;
  private scheduled = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private outcome: AgentOutcome = { applies: 0 };
  private lastPending = '';

  constructor(
    private readonly datapath: NodeDatapath,
    private readonly source: SnapshotSource,
    private readonly log: (line: string) => void,
    private readonly retryMs: number,
    private readonly onApply?: (a: AppliedSnapshot) => void,
  ) {}

  offer(s: NodeSnapshot): void {
    if (this.stopped) return;
    this.pending = s;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const s = this.pending;
    this.pending = undefined;
    if (s && !this.stopped) this.applyOne(s);
    if (this.pending) {
      this.scheduled = true;
      setImmediate(() => this.drain());
      return;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private applyOne(s: NodeSnapshot): void {
    clearTimeout(this.retry);
    this.latest = s;
    const node = this.datapath.node;
    let again = false;
    const started = performance.now();
    try {
      const change = this.datapath.apply(s);
      this.heard(s, started, change);
      this.outcome = { change, applies: this.outcome.applies + 1 };
      const waiting = change.pending.join(',');
      if (change.applied || waiting !== this.lastPending) this.log(describe(node, change));
      this.lastPending = waiting;
      again = change.pending.length > 0;
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.heard(s, started, undefined, error);
      this.outcome = { ...this.outcome, error };
      this.log(`node ${node}: snapshot not applied, still enforcing the last one: ${error.message}`);
      // The same snapshot would fail the same way: wait for a new one.
      again = !(e instanceof FirewallError && e.code === 'SNAPSHOT_INVALID') && !(e instanceof CompileError) && !(e instanceof PolicyError);
    }
    if (again) {
      this.retry = setTimeout(() => {
        if (!this.pending && this.latest) this.offer(this.latest);
      }, this.retryMs);
      this.retry.unref();
    }
  }

  private heard(snapshot: NodeSnapshot, started: number, change?: NodeChange, error?: Error): void {
    if (!this.onApply) return;
    const seconds = (performance.now() - started) / 1000;
    let policyIds: Readonly<Record<string, number>> = {};
    try {
      policyIds = this.datapath.enforced().alloc.policies;
    } catch {
      // the names of flow events' policies stay as they were; the apply's own outcome is what matters
    }
    this.onApply({ snapshot, change, error, seconds, policyIds });
  }

  settled(): Promise<AgentOutcome> {
    if (this.stopped) return Promise.reject(new FirewallError('CLOSED', `the agent of node ${this.datapath.node} is stopped`));
    if (!this.scheduled && !this.pending) return Promise.resolve(this.outcome);
    return new Promise((resolve) => this.waiters.push(() => resolve(this.outcome)));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.pending = undefined;
    try {
      await this.source.stop();
    } finally {
      this.datapath.close();
      for (const w of this.waiters.splice(0)) w();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** One line: `node n1: generation 1, 3 endpoints (+x/a -y/b), 9 pods, 4 policies; no veth yet: z/c`. */
function describe(node: string, c: NodeChange): string {
  const moves = [...c.added.map((k) => `+${k}`), ...c.removed.map((k) => `-${k}`)].join(' ');
  const waiting = c.pending.length > 0 ? `; no veth yet: ${c.pending.join(', ')}` : '';
  const what = c.applied ? `generation ${c.generation}` : 'unchanged';
  return `node ${node}: ${what}, ${c.endpoints.length} endpoints${moves ? ` (${moves})` : ''}, ${c.pods} pods, ${c.policies} policies${waiting}`;
}
