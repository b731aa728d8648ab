/**
 * The client of the agents' probe abilities beyond plain connections (see
 * agent.ts): several ports at once, large datagrams, and raw packets sent
 * with any source address and sniffed at their destination. One connection
 * per agent; requests are answered in any order, matched by id. Every
 * request has a deadline: a probe whose answer does not come (the agent is
 * dead or stuck) counts as blocked; a raw send or sniff that fails or gets
 * no answer is an AGENT_FAILED error, because "nothing arrived" must never
 * come from a probe that did not run.
 */
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { AgentReply, AgentRequest, ProbeRequest } from '../agent.js';
import type { RawProtocol } from '../agent-raw.js';
import { FirewallError } from '../errors.js';
import { connectAgent } from './agents.js';

/** How much longer than a probe's own timeout the client waits for its answer. */
const GRACE_MS = 3000;
/** The deadline of a raw send or sniff (the helper answers in milliseconds). */
const COMMAND_MS = 5000;

/** A request of one of the kinds this client sends, before it gets its id. */
type RequestBody = Exclude<AgentRequest, ProbeRequest> extends infer R ? (R extends AgentRequest ? Omit<R, 'id'> : never) : never;

export class AgentProbes implements Disposable {
  private readonly pending = new Map<number, (reply: AgentReply | undefined) => void>();
  private nextId = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly path: string,
  ) {
    createInterface({ input: socket }).on('line', (line) => {
      let reply: AgentReply;
      try {
        reply = JSON.parse(line) as AgentReply;
      } catch {
        return;
      }
      this.pending.get(reply.id)?.(reply);
    });
    const lost = () => {
      for (const settle of [...this.pending.values()]) settle(undefined);
    };
    socket.on('close', lost);
    socket.on('error', lost);
  }

  static async open(path: string, timeoutMs = COMMAND_MS): Promise<AgentProbes> {
    return new AgentProbes(await connectAgent(path, timeoutMs), path);
  }

  /** Plain probes to each of `ports` on `host`: true where it connected (TCP) or echoed (UDP). */
  async ports(host: string, protocol: 'TCP' | 'UDP', ports: readonly number[], timeoutMs: number): Promise<boolean[]> {
    const reply = await this.probe({ kind: 'ports', host, protocol, ports, timeoutMs }, timeoutMs);
    return ports.map((_, i) => reply?.results?.[i] === true);
  }

  /** One UDP datagram of `size` payload bytes to host:port: true when the receiver got it whole. */
  async datagram(host: string, port: number, size: number, timeoutMs: number): Promise<boolean> {
    return (await this.probe({ kind: 'datagram', host, port, size, timeoutMs }, timeoutMs))?.ok === true;
  }

  /** Makes this pod's agent report raw probe packets of `protocol` that arrive (before injecting any). */
  async sniff(protocol: RawProtocol): Promise<void> {
    await this.command({ kind: 'sniff', protocol });
  }

  /** Sends one raw probe packet from `source` (this pod's address or a forged one) to host:port, with an IP option holding `decoyPort` if given. */
  async inject(p: { protocol: RawProtocol; source: string; sourcePort: number; host: string; port: number; token: number; decoyPort?: number }): Promise<void> {
    await this.command({ kind: 'inject', ...p });
  }

  /** Whether the raw probe packet `token` from `source` to our `port` arrived (waiting up to `timeoutMs`). */
  async seen(protocol: RawProtocol, token: number, source: string, port: number, timeoutMs: number): Promise<boolean> {
    return (await this.probe({ kind: 'seen', protocol, token, source, port, timeoutMs }, timeoutMs))?.ok === true;
  }

  close(): void {
    this.socket.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** A probe: no answer in time is blocked (undefined); an answer with an error means it could not run. */
  private async probe(body: RequestBody, timeoutMs: number): Promise<AgentReply | undefined> {
    const reply = await this.request(body, timeoutMs + GRACE_MS);
    if (reply?.error !== undefined) throw new FirewallError('AGENT_FAILED', `agent ${this.path}: ${body.kind}: ${reply.error}`);
    return reply;
  }

  /** A command must be carried out: no answer, or an error, is AGENT_FAILED. */
  private async command(body: RequestBody): Promise<void> {
    const reply = await this.request(body, COMMAND_MS);
    if (reply === undefined) throw new FirewallError('AGENT_FAILED', `agent ${this.path}: ${body.kind}: no answer within ${COMMAND_MS} ms`);
    if (!reply.ok || reply.error !== undefined) throw new FirewallError('AGENT_FAILED', `agent ${this.path}: ${body.kind}: ${reply.error ?? 'refused'}`);
  }

  private request(body: RequestBody, waitMs: number): Promise<AgentReply | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const settle = (reply: AgentReply | undefined) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(reply);
      };
      const timer = setTimeout(() => settle(undefined), waitMs);
      this.pending.set(id, settle);
      if (this.socket.destroyed) settle(undefined);
      else this.socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }
}
