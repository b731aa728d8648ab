/**
 * A NETLINK_ROUTE socket that sends one request at a time and waits for the
 * kernel's ack: a refusal is a SyscallError named after the request, with
 * the kernel's extended-ack message as its hint when there is one. The
 * socket belongs to the network namespace it was opened in.
 */
import { LoaderError } from '../errors.js';
import { SyscallError, errnoName } from './errors.js';
import { NativeBuffer, bind, closeFd, recv, send, setsockoptInt, socket } from './ffi.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST, decodeError, decodeMessages, encodeRequest, type NlAttr } from './netlink-codec.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const RECV_BYTES = 65536;

/** What an errno means for these requests when the kernel sent no text of its own. */
const HINTS: Record<string, string> = {
  ENODEV: 'no interface with that index in this network namespace',
  EEXIST: 'already there (a filter at that priority and handle?)',
  EPERM: 'needs CAP_NET_ADMIN in the network namespace',
};

/** A socket dropped unclosed is closed when collected (what it attached stays, as tc's filters do). */
const registry = new FinalizationRegistry<{ fd: number; buffer: NativeBuffer }>(({ fd, buffer }) => {
  closeFd(fd);
  buffer.free();
});

export class NetlinkSocket implements Disposable {
  private fdValue: number;
  private seq = 1;
  private readonly buffer = new NativeBuffer(RECV_BYTES);

  constructor(context: string) {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
      this.buffer.free();
      throw new SyscallError('socket', -fd, `${context}: netlink socket`);
    }
    this.fdValue = fd;
    registry.register(this, { fd, buffer: this.buffer }, this);
    // Ask for the kernel's error text, and for acks without a copy of the request.
    setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    const addr = new NativeBuffer(12);
    try {
      addr.view.setUint16(0, AF_NETLINK, true);
      const r = bind(fd, addr);
      if (r < 0) {
        this.close();
        throw new SyscallError('bind', -r, `${context}: netlink socket`);
      }
    } finally {
      addr.free();
    }
  }

  get isClosed(): boolean {
    return this.fdValue < 0;
  }

  /**
   * Sends a request (`name` is its RTM_* name, for errors) and returns when
   * the kernel acks it; throws a SyscallError when the kernel refuses it.
   */
  request(name: string, type: number, flags: number, familyHeader: Uint8Array, attrs: readonly NlAttr[], context: string): void {
    if (this.fdValue < 0) throw new LoaderError('CLOSED', 'netlink socket closed').addContext(context);
    const seq = this.seq++;
    const bytes = encodeRequest(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, familyHeader, attrs);
    const out = NativeBuffer.from(bytes);
    try {
      const n = send(this.fdValue, out, bytes.length);
      if (n < 0) throw new SyscallError('send', -n, `${context}: ${name}`);
    } finally {
      out.free();
    }
    for (;;) {
      const n = recv(this.fdValue, this.buffer);
      if (n < 0) {
        if (-n === 4) continue; // EINTR
        throw new SyscallError('recv', -n, `${context}: ${name}`);
      }
      for (const m of decodeMessages(this.buffer.bytes.slice(0, n))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return;
        if (m.type !== NLMSG_ERROR) continue;
        const { errno, message } = decodeError(m);
        if (errno === 0) return;
        throw new SyscallError(name, errno, context, message ?? HINTS[errnoName(errno)]);
      }
    }
  }

  close(): void {
    if (this.fdValue < 0) return;
    registry.unregister(this);
    closeFd(this.fdValue);
    this.fdValue = -1;
    this.buffer.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
