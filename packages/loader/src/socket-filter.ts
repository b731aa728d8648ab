/**
 * Socket filters: a BPF_PROG_TYPE_SOCKET_FILTER program attached to one
 * socket with SO_ATTACH_BPF (and taken off with SO_DETACH_BPF), the socket
 * given as an fd or as a Node `net`/`dgram` socket or server.
 */
import { ProgramType } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import type { Program } from './program.js';
import { SyscallError } from './sys/errors.js';
import { setsockoptInt } from './sys/ffi.js';

const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
/** SO_DETACH_BPF is SO_DETACH_FILTER: one slot per socket, classic or eBPF. */
const SO_DETACH_BPF = 27;

/** A socket: its fd, or a Node socket or server that has one (bound, listening or connected). */
export type SocketLike = number | object;

/**
 * The fd under a Node socket: the `fd` of the socket's libuv handle, which
 * Node keeps under `_handle` (net.Server), a symbol (net.Socket) or a state
 * object (dgram.Socket). Neither is public API, so a socket without one (not
 * yet bound, already closed, a future Node) is a typed error, never a guess.
 */
export function socketFd(socket: SocketLike): number {
  if (typeof socket === 'number') {
    if (!Number.isInteger(socket) || socket < 0) throw new LoaderError('INVALID_ARGUMENT', `socket fd ${socket} is not a file descriptor`);
    return socket;
  }
  // net.Server keeps `_handle` as an own property; net.Socket keeps it under a symbol (kHandle) and dgram.Socket in
  // a state object under a symbol. Own properties only: dgram's prototype getter `_handle` is deprecated (DEP0112).
  const handles: unknown[] = [Object.getOwnPropertyDescriptor(socket, '_handle')?.value];
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const value = (socket as Record<symbol, unknown>)[sym];
    if (!value || typeof value !== 'object') continue;
    handles.push(value);
    if ('handle' in value) handles.push((value as { handle: unknown }).handle);
  }
  for (const h of handles) {
    const fd = (h as { fd?: unknown } | null | undefined)?.fd;
    if (typeof fd === 'number' && Number.isInteger(fd) && fd >= 0) return fd;
  }
  throw new LoaderError('INVALID_ARGUMENT', 'this socket has no file descriptor (not bound, listening or connected yet, or already closed)');
}

/**
 * SO_ATTACH_BPF: `program` (a socket filter) runs on every packet the socket
 * receives; it returns how many bytes of the packet to keep (0 drops it). It
 * replaces any filter the socket had. The socket holds the program: closing
 * the Program object afterwards does not detach it, closing the socket does.
 */
export function attachSocketFilter(program: Program, socket: SocketLike): void {
  if (program.type !== ProgramType.socket_filter) {
    throw new LoaderError('INVALID_ARGUMENT', `program ${program.name}: a socket filter must be of type socket_filter`);
  }
  const fd = socketFd(socket);
  const r = setsockoptInt(fd, SOL_SOCKET, SO_ATTACH_BPF, program.fd);
  if (r < 0) throw new SyscallError('setsockopt(SO_ATTACH_BPF)', -r, `program ${program.name}: attach to socket fd ${fd}`);
}

/** SO_DETACH_BPF: the socket's filter is removed (ENOENT when it had none). */
export function detachSocketFilter(socket: SocketLike): void {
  const fd = socketFd(socket);
  const r = setsockoptInt(fd, SOL_SOCKET, SO_DETACH_BPF, 0);
  if (r < 0) throw new SyscallError('setsockopt(SO_DETACH_BPF)', -r, `detach the filter of socket fd ${fd}`);
}
