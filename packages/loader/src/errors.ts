/**
 * The loader's errors that are not a system call's answer (SyscallError,
 * sys/errors.ts) or the verifier's (VerifierError, verifier-error.ts): all
 * TsbpfErrors with a stable `code`, listed in docs/errors.md.
 */
import { TsbpfError } from '@tsbpf/object';
import { errnoName } from './sys/errors.js';

/**
 * What `code` says on a LoaderError: a stable name to branch on, where the
 * message is for people.
 */
export type LoaderErrorCode =
  /** loadCollection options name a program, map or constant the object does not have, or a constant that does not fit. */
  | 'LOAD_OPTIONS'
  /** A spec that contradicts itself (a relocation to a map or extern it does not define): built by hand, not parsed. */
  | 'SPEC_INVALID'
  /** A `__kconfig` extern this kernel's configuration does not answer. */
  | 'KCONFIG_UNKNOWN'
  /** A `__kconfig` value that does not fit its extern's type (`CONFIG_X=300` for a char). */
  | 'KCONFIG_VALUE'
  /** A typeless `__ksym` whose name /proc/kallsyms gives several addresses. */
  | 'KSYM_AMBIGUOUS'
  /** A program whose section names nothing to attach to, or a target that cannot be resolved (no such function in a binary). */
  | 'ATTACH_TARGET'
  /** A reader or wrapper given a map of another type. */
  | 'MAP_TYPE'
  /** A map whose memory is too large to map into this process (a ring buffer of 2 GiB or more). */
  | 'MAP_TOO_LARGE'
  /** Native memory larger than this Node can view as an ArrayBuffer. */
  | 'VIEW_TOO_LARGE'
  /** An argument of the wrong size or shape: a key or value of the wrong length, part of an instruction, pagesPerCpu not a power of two. */
  | 'INVALID_ARGUMENT'
  /** A feature probe that cannot answer without a real target. */
  | 'PROBE_TARGET'
  /** An object used after close(). */
  | 'CLOSED'
  /** A bug in tsbpf itself (the scratch arena used outside a scope, a field written at the wrong width): please report it. */
  | 'INTERNAL';

/** A loader failure that is not the kernel's answer (those are SyscallError, VerifierError, BtfLoadError). */
export class LoaderError extends TsbpfError<LoaderErrorCode> {
  override readonly name = 'LoaderError';
  constructor(code: LoaderErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A pinned map that does not match the object's definition of it. */
export class MapIncompatibleError extends TsbpfError<'MAP_INCOMPATIBLE'> {
  override readonly name = 'MapIncompatibleError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('MAP_INCOMPATIBLE', message, options);
  }
}

/** Something the object asks for that this loader (or kernel) cannot do. */
export class NotSupportedError extends TsbpfError<'NOT_SUPPORTED'> {
  override readonly name = 'NotSupportedError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('NOT_SUPPORTED', message, options);
  }
}

/** The kernel refused the object's BTF (BPF_BTF_LOAD): `log` is its verifier's word. */
export class BtfLoadError extends TsbpfError<'BTF_REJECTED'> {
  override readonly name = 'BtfLoadError';
  declare readonly errno: number;
  /** 'EINVAL', ... */
  readonly errnoName: string;
  constructor(
    errno: number,
    readonly log: string,
  ) {
    super('BTF_REJECTED', `BPF_BTF_LOAD: ${errnoName(errno)}: ${log.trim().split('\n').slice(-2).join(' / ') || 'no log'}`, { errno });
    this.errnoName = errnoName(errno);
  }
}
