/**
 * XDP through netlink (IFLA_XDP on RTM_SETLINK), for kernels before XDP
 * links (5.9): attach in a mode, only if none is attached, or in place of
 * an expected program; detach on close.
 */
import { checkU32, describeValue } from './args.js';
import { LoaderError } from './errors.js';
import { XdpMode } from './link.js';
import type { Program } from './program.js';
import { SyscallError } from './sys/errors.js';
import { closeFd, dupAtLeast } from './sys/ffi.js';
import { NetlinkSocket } from './sys/netlink.js';
import { ifinfomsg, s32Attr, u32Attr } from './sys/netlink-codec.js';

const RTM_SETLINK = 19;
const IFLA_XDP = 43;
const IFLA_XDP_FD = 1;
const IFLA_XDP_FLAGS = 3;
const IFLA_XDP_EXPECTED_FD = 8;
const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
const XDP_FLAGS_REPLACE = 1 << 4;

export interface XdpNetlinkOptions {
  /** generic (skb), driver, offload, or default (the driver's if it has one). */
  mode?: keyof typeof XdpMode;
  /** Refuse (EBUSY) if the interface already runs an XDP program in this mode. */
  ifNotExists?: boolean;
  /** Replace this program, and only it (else EEXIST): XDP_FLAGS_REPLACE with IFLA_XDP_EXPECTED_FD. */
  expected?: Program;
}

function setXdp(nl: NetlinkSocket, ifindex: number, fd: number, flags: number, expectedFd: number | undefined, context: string): void {
  const nested = [s32Attr(IFLA_XDP_FD, fd), u32Attr(IFLA_XDP_FLAGS, flags)];
  if (expectedFd !== undefined) nested.push(s32Attr(IFLA_XDP_EXPECTED_FD, expectedFd));
  nl.request('RTM_SETLINK', RTM_SETLINK, 0, ifinfomsg(ifindex), [{ type: IFLA_XDP, value: nested }], context);
}

/** The program fd of an attachment dropped unclosed is closed when collected (the program stays attached). */
const registry = new FinalizationRegistry<{ fd: number }>((held) => closeFd(held.fd));

/**
 * An XDP program attached through netlink. It keeps the netlink socket of
 * its namespace and its own fd of the program it attached, so close()
 * detaches exactly that program (a program someone put in its place stays).
 */
export class XdpNetlinkAttachment implements Disposable {
  private readonly held: { fd: number };
  constructor(
    private readonly nl: NetlinkSocket,
    readonly ifindex: number,
    readonly mode: keyof typeof XdpMode,
    progFd: number,
  ) {
    this.held = { fd: progFd };
    registry.register(this, this.held, this);
  }

  get description(): string {
    return `xdp/${this.mode} ifindex ${this.ifindex} (netlink)`;
  }

  /** The interface runs `program` from now on, replacing the attached one in place (XDP_FLAGS_REPLACE). */
  update(program: Program): void {
    if (this.nl.isClosed) throw new LoaderError('CLOSED', 'closed').addContext(this.description);
    const context = `${this.description}: update to program ${program.name}`;
    const fd = dupAtLeast(program.fd, 3);
    if (fd < 0) throw new SyscallError('fcntl', -fd, context);
    try {
      setXdp(this.nl, this.ifindex, fd, XdpMode[this.mode] | XDP_FLAGS_REPLACE, this.held.fd, context);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    closeFd(this.held.fd);
    this.held.fd = fd;
  }

  /** Detaches the program if it is still the one attached (once); an interface or namespace gone is no error. */
  close(): void {
    if (this.nl.isClosed) return;
    try {
      setXdp(this.nl, this.ifindex, -1, XdpMode[this.mode] | XDP_FLAGS_REPLACE, this.held.fd, `${this.description}: detach`);
    } catch (e) {
      if (!(e instanceof SyscallError && ['ENODEV', 'EEXIST'].includes(e.errnoName))) throw e;
    } finally {
      this.nl.close();
      registry.unregister(this);
      closeFd(this.held.fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** An XDP program on an interface through netlink, in the calling thread's network namespace. */
export function attachXdpNetlink(program: Program, ifindex: number, options: XdpNetlinkOptions = {}): XdpNetlinkAttachment {
  const mode = options.mode ?? 'default';
  const context = `program ${program.name}: attach XDP to ifindex ${String(ifindex)} through netlink`;
  checkU32(ifindex, 'ifindex', context);
  if (!Object.hasOwn(XdpMode, mode))
    throw new LoaderError('INVALID_ARGUMENT', `mode must be one of ${Object.keys(XdpMode).join(', ')}, not ${describeValue(mode)}`);
  if (options.expected && options.ifNotExists) throw new LoaderError('INVALID_ARGUMENT', 'give expected or ifNotExists, not both').addContext(context);
  const expectedFd = options.expected?.fd;
  const flags = XdpMode[mode] | (options.ifNotExists ? XDP_FLAGS_UPDATE_IF_NOEXIST : 0) | (expectedFd !== undefined ? XDP_FLAGS_REPLACE : 0);
  const fd = dupAtLeast(program.fd, 3);
  if (fd < 0) throw new SyscallError('fcntl', -fd, context);
  let nl: NetlinkSocket | undefined;
  try {
    nl = new NetlinkSocket(context);
    setXdp(nl, ifindex, fd, flags, expectedFd, context);
    return new XdpNetlinkAttachment(nl, ifindex, mode, fd);
  } catch (e) {
    nl?.close();
    closeFd(fd);
    throw e;
  }
}
