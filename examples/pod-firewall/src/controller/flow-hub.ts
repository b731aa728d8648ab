/**
 * Flow events for every reader at once. A BPF ring buffer has one consumer:
 * two readers of the pinned `events` map would each get part of the stream.
 * So one process per instance, the hub, reads the ring and relays every
 * event over a unix socket in the instance's private run directory to every
 * other reader. The hub is whoever holds `flows.lock` (a kernel lock, let go
 * when its process ends, also on kill -9); when it goes, its readers see the
 * socket close and one of them takes the lock and the ring over, where the
 * last hub stopped reading (events wait in the ring meanwhile).
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { BpfMap } from '@tsbpf/loader';
import { RingBuffer } from '@tsbpf/maps';
import { flowEvent, type FlowEvent } from '../datapath/layout.js';
import { FirewallError } from '../errors.js';
import type { InstanceDirs } from './instance.js';

interface FsNativeExtensions {
  tryLock(fd: number): boolean;
}
const fsx = createRequire(import.meta.url)('fs-native-extensions') as FsNativeExtensions;

/** A reader the hub let fall this far behind is dropped (it reconnects, and misses what it had not read). */
const MAX_BACKLOG = 4 << 20;
const RETRY_MS = 25;
/** Events kept for a reader of this process that does not read: beyond, new ones are counted in `lost`. */
const MAX_QUEUE = 1 << 16;

export const flowSocket = (dirs: InstanceDirs) => join(dirs.run, 'flows.sock');
const flowLock = (dirs: InstanceDirs) => join(dirs.run, 'flows.lock');

/** The first line the hub sends: readers refuse a hub whose events they cannot decode (another datapath's). */
const hello = () => `${JSON.stringify({ codec: flowEvent.name, size: flowEvent.size })}\n`;

/** Flow events, whether this process is the hub or one of its readers. */
export class FlowStream implements AsyncIterable<FlowEvent>, Disposable {
  private queue: FlowEvent[] = [];
  private joined!: () => void;
  private readonly joinedOnce = new Promise<void>((resolve) => (this.joined = resolve));
  private wake?: () => void;
  private closed = false;
  private failure?: Error;
  // The hub's side.
  private lockFd?: number;
  private ring?: RingBuffer<FlowEvent>;
  private ringAbort?: AbortController;
  private server?: Server;
  private readonly readers = new Set<Socket>();
  // A reader's side.
  private socket?: Socket;
  private retry?: NodeJS.Timeout;

  /** How many times this stream joined: 1, and one more each time it moved to a new hub (or became it). */
  joins = 0;

  private constructor(
    private readonly dirs: InstanceDirs,
    private readonly signal?: AbortSignal,
    private readonly onJoin?: (asHub: boolean) => void,
  ) {
    signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** `onJoin` hears each time events start flowing: as the hub or as its reader (again after a hub went). */
  static open(dirs: InstanceDirs, signal?: AbortSignal, onJoin?: (asHub: boolean) => void): FlowStream {
    const s = new FlowStream(dirs, signal, onJoin);
    if (!signal?.aborted) s.join();
    return s;
  }

  /** Resolves once events flow to this stream: as the hub listening, or as a reader greeted by the hub (or on close). */
  ready(): Promise<void> {
    return this.joinedOnce;
  }

  /** True while this process reads the ring for everyone. */
  get isHub(): boolean {
    return this.ring !== undefined;
  }

  /** Readers of other processes the hub dropped for lagging. */
  droppedReaders = 0;
  /** Events this process did not keep because it was not reading them. */
  lost = 0;

  /** What has arrived and was not handed out yet (the hub also takes what lies in the ring now). */
  drain(): FlowEvent[] {
    if (this.ring) for (const e of this.ring.drain()) this.deliver(e);
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Calls `onRecord` for each event until closed or aborted. */
  async consume(onRecord: (e: FlowEvent) => void): Promise<void> {
    for await (const e of this) onRecord(e);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FlowEvent> {
    while (true) {
      if (this.queue.length > 0) {
        yield* this.drain();
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.destroy();
    this.stopLeading();
    this.joined();
    this.wake?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Leads if nobody does, else reads from the one who does. */
  private join(): void {
    if (this.closed) return;
    const fd = openSync(flowLock(this.dirs), 'a', 0o600);
    if (fsx.tryLock(fd)) {
      this.lockFd = fd;
      this.lead();
    } else {
      closeSync(fd);
      this.follow();
    }
  }

  private lead(): void {
    const path = flowSocket(this.dirs);
    this.ringAbort = new AbortController();
    this.ring = new RingBuffer(BpfMap.fromPin(join(this.dirs.pins, 'events')), flowEvent, { signal: this.ringAbort.signal, pollMs: 50 });
    // A socket file of a hub that died is in the way; the lock says nobody serves it.
    rmSync(path, { force: true });
    this.server = createServer((sock) => {
      this.readers.add(sock);
      sock.on('close', () => this.readers.delete(sock));
      sock.on('error', () => sock.destroy());
      sock.write(hello());
    });
    this.server.on('error', (e) => this.fail(new FirewallError('COMMAND_FAILED', `flow events: serving ${path}: ${e.message}`, { cause: e })));
    this.server.listen(path, () => this.joinedAs(true));
    this.ring.consume((e) => this.deliver(e)).catch((e: Error) => this.fail(e));
  }

  private keep(e: FlowEvent): void {
    if (this.queue.length < MAX_QUEUE) this.queue.push(e);
    else this.lost++;
  }

  private deliver(e: FlowEvent): void {
    this.keep(e);
    if (this.readers.size > 0) {
      const bytes = Buffer.alloc(flowEvent.size);
      flowEvent.encode(e, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
      for (const r of this.readers) {
        if (r.writableLength > MAX_BACKLOG) {
          this.droppedReaders++;
          r.destroy();
        } else r.write(bytes);
      }
    }
    this.wake?.();
  }

  private stopLeading(): void {
    this.ringAbort?.abort();
    this.ring?.close();
    this.ring = undefined;
    for (const r of this.readers) r.destroy();
    this.server?.close();
    this.server = undefined;
    if (this.lockFd !== undefined) {
      closeSync(this.lockFd); // lets go of the lock: a reader takes over
      this.lockFd = undefined;
    }
  }

  private follow(): void {
    const sock = connect(flowSocket(this.dirs));
    this.socket = sock;
    let pending: Buffer = Buffer.alloc(0);
    let greeted = false;
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (!greeted) {
        const nl = pending.indexOf(10);
        if (nl < 0) return;
        const theirs = JSON.parse(pending.subarray(0, nl).toString()) as { codec: string; size: number };
        if (theirs.size !== flowEvent.size || theirs.codec !== flowEvent.name) {
          this.fail(
            new FirewallError(
              'DATAPATH_INCOMPATIBLE',
              `flow events: the hub sends ${theirs.codec} (${theirs.size} bytes), this reader decodes ${flowEvent.name} (${flowEvent.size})`,
            ),
          );
          return;
        }
        greeted = true;
        this.joinedAs(false);
        pending = pending.subarray(nl + 1);
      }
      const view = new DataView(pending.buffer, pending.byteOffset, pending.byteLength);
      let off = 0;
      for (; off + flowEvent.size <= pending.length; off += flowEvent.size) this.keep(flowEvent.decode(view, off));
      pending = Buffer.from(pending.subarray(off));
      if (off > 0) this.wake?.();
    });
    sock.on('error', () => sock.destroy());
    // The hub went (or was not listening yet): lead or follow the next one.
    sock.on('close', () => {
      if (this.socket !== sock || this.closed) return;
      this.socket = undefined;
      this.retry = setTimeout(() => this.join(), RETRY_MS);
    });
  }

  private joinedAs(hub: boolean): void {
    this.joins++;
    this.joined();
    this.onJoin?.(hub);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.close();
  }
}
