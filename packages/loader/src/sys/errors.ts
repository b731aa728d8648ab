import { constants } from 'node:os';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
// The kernel's own ENOTSUPP (include/linux/errno.h) leaks to user space from bpf(): libc has no name for it.
ERRNO_NAMES.set(524, 'ENOTSUPP');

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
  'BPF_PROG_TEST_RUN EINTR': 'a signal interrupted the runs (a profiler\'s SIGPROF?); those done so far had their effects',
  'BPF_LINK_DETACH EOPNOTSUPP': 'this kind of link cannot be detached (close it instead)',
};

/** A bpf() command (or another system call) failed. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  /** 'EPERM', 'ENOENT', ... */
  readonly code: string;
  readonly hint: string | undefined;
  constructor(
    /** The command, e.g. BPF_MAP_CREATE. */
    readonly syscall: string,
    readonly errno: number,
    context?: string,
    /** A hint that knows more than the errno's generic one. */
    hintOverride?: string,
  ) {
    const code = errnoName(errno);
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    // As root, EPERM is not about privileges: the kernel forbids this use outright.
    const hint =
      hintOverride ??
      COMMAND_HINTS[`${syscall} ${code}`] ??
      (code === 'EPERM' && root
        ? 'refused although running as root: this kernel forbids it (lockdown, a program type it does not allow such as fentry/fexit here, or the BPF LSM not enabled)'
        : HINTS[code]);
    super(`${context ? `${context}: ` : ''}${syscall}: ${code}${hint ? ` (${hint})` : ''}`);
    this.code = code;
    this.hint = hint;
  }
}
