/**
 * Probes held-out cells with real packets through the pods' agents: the
 * plain matrix as one several-ports request per pair and protocol,
 * fragmented datagrams (a pair's ports in order, one after the other), and
 * raw packets (forged, raw, SCTP and IP-options cells) injected by the sending pod's
 * agent and looked for by the destination's. A probe that gets no answer is
 * blocked; a raw packet that could not be sent is an error, never blocked.
 */
import { agentSocket } from '../../cluster/agents.js';
import { AgentProbes } from '../../cluster/agent-probes.js';
import { podNetns } from '../../cluster/topology.js';
import { instanceDirs } from '../../controller/instance.js';
import { FirewallError } from '../../errors.js';
import { podKey, type Cluster } from '../../policy/model.js';
import type { Cell } from './cells.js';

/** Source ports of raw packets: below the agents' UDP probe ports (from 20000) and the kernel's ephemeral ports (from 32768). */
export const RAW_SOURCE_PORTS = { first: 10000, count: 10000 };

export class CellProber implements Disposable {
  private nextToken = 1 + Math.floor(Math.random() * 2 ** 30);

  private constructor(private readonly agents: ReadonlyMap<string, AgentProbes>) {}

  /** Connects to the agent of every pod of the instance `name` and has each report the raw packets it receives. */
  static async open(name: string, cluster: Cluster): Promise<CellProber> {
    const run = instanceDirs({ name }).run;
    const opened = await Promise.allSettled(cluster.pods.map((p) => AgentProbes.open(agentSocket(run, podNetns(name, p)))));
    const agents = new Map<string, AgentProbes>();
    opened.forEach((r, i) => r.status === 'fulfilled' && agents.set(podKey(cluster.pods[i]!), r.value));
    const prober = new CellProber(agents);
    try {
      const failed = opened.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await Promise.all([...agents.values()].flatMap((a) => [a.sniff('TCP'), a.sniff('UDP'), a.sniff('SCTP')]));
    } catch (e) {
      prober.close();
      throw e;
    }
    return prober;
  }

  /** Observes every cell: true where the packet (or connection, or datagram) got through. */
  async observe(cells: readonly Cell[], timeoutMs = 700): Promise<Map<string, boolean>> {
    const seen = new Map<string, boolean>();
    const jobs: Promise<void>[] = [];
    const plain = new Map<string, Cell[]>();
    const fragments = new Map<string, Cell[]>();
    for (const c of cells) {
      const pair = `${podKey(c.from)} ${podKey(c.to)}`;
      if (c.kind === 'plain') plain.set(`${pair} ${c.protocol}`, [...(plain.get(`${pair} ${c.protocol}`) ?? []), c]);
      else if (c.kind === 'fragment') fragments.set(pair, [...(fragments.get(pair) ?? []), c]);
      else jobs.push(this.raw(c, timeoutMs).then((ok) => void seen.set(c.key, ok)));
    }
    for (const group of plain.values()) {
      const { from, to, protocol } = group[0]!;
      const ports = group.map((c) => c.port);
      jobs.push(
        this.agent(from.namespace, from.name)
          .ports(to.ip, protocol as 'TCP' | 'UDP', ports, timeoutMs)
          .then((results) => group.forEach((c, i) => seen.set(c.key, results[i]!))),
      );
    }
    for (const group of fragments.values()) jobs.push(this.fragmentSequence(group, timeoutMs, seen));
    await Promise.all(jobs);
    return seen;
  }

  close(): void {
    for (const a of this.agents.values()) a.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private agent(namespace: string, name: string): AgentProbes {
    const a = this.agents.get(`${namespace}/${name}`);
    if (!a) throw new FirewallError('AGENT_FAILED', `no agent for ${namespace}/${name}`);
    return a;
  }

  /** One pair's fragmented datagrams: port after port in the cells' order, the sizes of one port at once. */
  private async fragmentSequence(group: readonly Cell[], timeoutMs: number, seen: Map<string, boolean>): Promise<void> {
    const ports = [...new Set(group.map((c) => c.port))];
    for (const port of ports) {
      const cells = group.filter((c) => c.port === port);
      await Promise.all(cells.map(async (c) => seen.set(c.key, await this.agent(c.from.namespace, c.from.name).datagram(c.to.ip, c.port, c.size!, timeoutMs))));
    }
  }

  /** A raw packet from `cell.from` carrying `cell.source`; true when the destination's agent saw it. */
  private async raw(cell: Cell, timeoutMs: number): Promise<boolean> {
    const token = (this.nextToken++ % 0xfffffffe) + 1;
    const sourcePort = RAW_SOURCE_PORTS.first + (token % RAW_SOURCE_PORTS.count);
    const protocol = cell.protocol;
    const decoy = cell.decoy === undefined ? {} : { decoyPort: cell.decoy };
    await this.agent(cell.from.namespace, cell.from.name).inject({
      protocol,
      source: cell.source!.ip,
      sourcePort,
      host: cell.to.ip,
      port: cell.port,
      token,
      ...decoy,
    });
    return this.agent(cell.to.namespace, cell.to.name).seen(protocol, token, cell.source!.ip, cell.port, timeoutMs);
  }
}
