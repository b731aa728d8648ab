/**
 * SO_REUSEPORT groups: a program that picks which socket of a group gets a
 * packet, attached to one socket of the group with SO_ATTACH_REUSEPORT_EBPF
 * and taken off with SO_DETACH_REUSEPORT_BPF.
 */
import { ProgramType } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import type { Program } from './program.js';
import { socketFd, type SocketLike } from './socket-filter.js';
import { SyscallError } from './sys/errors.js';
import { setsockoptInt } from './sys/ffi.js';

const SOL_SOCKET = 1;
const SO_ATTACH_REUSEPORT_EBPF = 52;
const SO_DETACH_REUSEPORT_BPF = 68;

/**
 * SO_ATTACH_REUSEPORT_EBPF: `program` chooses the socket of `socket`'s
 * SO_REUSEPORT group for each new packet or connection. An `sk_reuseport`
 * program selects one with bpf_sk_select_reuseport from a reuseport_sockarray
 * map; a `socket_filter` program returns the socket's index in the group
 * (the order the sockets were bound). An index out of range or no selection
 * falls back to the kernel's hash. The group holds the program (closing the
 * Program does not detach it); it replaces any program the group had. The
 * socket must already be bound with SO_REUSEPORT.
 */
export function attachReuseport(program: Program, socket: SocketLike): void {
  if (program.type !== ProgramType.sk_reuseport && program.type !== ProgramType.socket_filter) {
    throw new LoaderError('INVALID_ARGUMENT', `program ${program.name}: a reuseport program must be of type sk_reuseport or socket_filter`);
  }
  const fd = socketFd(socket);
  const r = setsockoptInt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, program.fd);
  if (r < 0) {
    const hint = -r === 22 ? 'EINVAL: the socket must be bound with SO_REUSEPORT first' : undefined;
    throw new SyscallError('setsockopt(SO_ATTACH_REUSEPORT_EBPF)', -r, `program ${program.name}: attach to the reuseport group of socket fd ${fd}`, hint);
  }
}

/** SO_DETACH_REUSEPORT_BPF: the group's program is removed and the kernel's hash chooses again (ENOENT when it had none). */
export function detachReuseport(socket: SocketLike): void {
  const fd = socketFd(socket);
  const r = setsockoptInt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, 0);
  if (r < 0) throw new SyscallError('setsockopt(SO_DETACH_REUSEPORT_BPF)', -r, `detach the reuseport program of socket fd ${fd}`);
}
