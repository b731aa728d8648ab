/**
 * SyscallError: a system call (a bpf() command, mmap, epoll, perf_event_open,
 * setns, a netlink request) answered with an errno. The errno's name, and a hint at what it
 * means for that command, are in the message; `code` is always
 * SYSCALL_FAILED, `errno` and `errnoName` say which.
 */
import { constants } from 'node:os';
import { TsbpfError } from '@tsbpf/object';

const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);
// Where libc has two names for one number, the kernel's: EAGAIN (not EWOULDBLOCK), EOPNOTSUPP (not ENOTSUP).
ERRNO_NAMES.set(11, 'EAGAIN');
ERRNO_NAMES.set(95, 'EOPNOTSUPP');
// The kernel's own ENOTSUPP (include/linux/errno.h) leaks to user space from bpf(): libc has no name for it.
ERRNO_NAMES.set(524, 'ENOTSUPP');

/** 'EPERM' for 1, 'ENOTSUPP' for 524, 'E999' for a number without a name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

const HINTS: Record<string, string> = {
  EPERM: 'needs root, or CAP_BPF (plus CAP_NET_ADMIN / CAP_PERFMON for some program types)',
  EACCES: 'the kernel refused access (a verifier rejection without a log, or bpffs permissions)',
  E2BIG: 'the attr is larger than this kernel knows: a feature newer than the kernel was asked for',
  EINVAL: 'an argument this kernel does not accept (an unknown flag, type or attach type on an older kernel?)',
  ENOSPC: 'the map is full',
  ENOENT: 'no such element or object',
  EBADF: 'not an open BPF file descriptor',
  ENOSYS: 'bpf() is not available on this system',
  EEXIST: 'the element already exists (BPF_NOEXIST)',
  ENOTSUPP: 'this kernel does not support the operation for this object',
};

/** Where an errno means something specific to the command (checked before HINTS). */
const COMMAND_HINTS: Record<string, string> = {
  'BPF_OBJ_PIN EEXIST': 'something is already pinned at that path',
  'BPF_OBJ_PIN EPERM': 'the path is not on a bpffs mount, or its last name has a dot (bpffs refuses those)',
  'BPF_OBJ_GET ENOENT': 'nothing is pinned at that path',
  'BPF_MAP_UPDATE_ELEM E2BIG': 'the map is full (max_entries)',
  'BPF_MAP_UPDATE_BATCH E2BIG': 'the map is full (max_entries)',
  'BPF_MAP_UPDATE_ELEM EPERM': 'the map is read-only for user space (frozen, or created with BPF_F_RDONLY)',
  'BPF_MAP_LOOKUP_BATCH ENOTSUPP': 'this map type has no batch operations',
  'BPF_MAP_UPDATE_BATCH ENOTSUPP': 'this map type has no batch operations',
  'BPF_MAP_DELETE_BATCH ENOTSUPP': 'this map type has no batch operations',
  'BPF_PROG_TEST_RUN ENOTSUPP': 'this program type cannot be test-run',
  'BPF_PROG_TEST_RUN EINTR': "a signal interrupted the runs (a profiler's SIGPROF?); those done so far had their effects",
  'BPF_LINK_DETACH EOPNOTSUPP': 'this kind of link cannot be detached (close it instead)',
  'BPF_PROG_GET_FD_BY_ID ENOENT': 'no program has that id (now)',
  'BPF_MAP_GET_FD_BY_ID ENOENT': 'no map has that id (now)',
  'BPF_LINK_GET_FD_BY_ID ENOENT': 'no link has that id (now)',
  'BPF_BTF_GET_FD_BY_ID ENOENT': 'no BTF object has that id (now)',
  'BPF_TOKEN_CREATE ENOENT': 'that bpffs delegates nothing (mount it with delegate_cmds, delegate_maps, delegate_progs, delegate_attachs)',
  'BPF_TOKEN_CREATE EOPNOTSUPP': "a token is made from a bpffs of a user namespace other than the initial one (the caller's own)",
};

const ROOT_EPERM =
  'refused although running as root: this kernel forbids it (lockdown, a program type it does not allow such as fentry/fexit here, or the BPF LSM not enabled)';

/** What an errno most likely means for a bpf() command (other system calls get no generic hint: these are about BPF). */
function syscallHint(syscall: string, name: string): string | undefined {
  if (!syscall.startsWith('BPF_')) return undefined;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root, EPERM is not about privileges: the kernel forbids this use outright.
  return COMMAND_HINTS[`${syscall} ${name}`] ?? (name === 'EPERM' && root ? ROOT_EPERM : HINTS[name]);
}

/** A bpf() command (or another system call) failed: `errno` says how. */
export class SyscallError extends TsbpfError<'SYSCALL_FAILED'> {
  override readonly name = 'SyscallError';
  declare readonly errno: number;
  /** 'EPERM', 'ENOENT', ... (the kernel's 524 is 'ENOTSUPP'). */
  readonly errnoName: string;
  /** What the errno most likely means for this command. */
  readonly hint: string | undefined;
  constructor(
    /** The command, e.g. BPF_MAP_CREATE, or the system call. */
    readonly syscall: string,
    errno: number,
    /** Where (`map counters`): prefixed to the message. */
    context?: string,
    /** A hint that knows more than the errno's generic one. */
    hintOverride?: string,
    options: { cause?: unknown } = {},
  ) {
    const name = errnoName(errno);
    const hint = hintOverride ?? syscallHint(syscall, name);
    super('SYSCALL_FAILED', `${syscall}: ${name}${hint ? ` (${hint})` : ''}`, { errno, cause: options.cause });
    this.errnoName = name;
    this.hint = hint;
    if (context) this.addContext(context);
  }
}
