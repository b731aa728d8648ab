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
  /** A typeless `__ksym` whose name /proc/kallsyms gives several addresses. */
  | 'KSYM_AMBIGUOUS'
  /** A program whose section names nothing to attach to, or a target that cannot be resolved. */
  | 'ATTACH_TARGET'
  /** A reader or wrapper given a map of another type. */
  | 'MAP_TYPE'
  /** A map whose memory is too large to map into this process (a ring buffer of 2 GiB or more). */
  | 'MAP_TOO_LARGE'
  /** A feature probe that cannot answer without a real target. */
  | 'PROBE_TARGET'
  /** An object used after close(). */
  | 'CLOSED';

/** A loader failure that is not the kernel's answer (those are SyscallError, VerifierError, BtfLoadError). */
export class LoaderError extends Error {
  override readonly name = 'LoaderError';
  constructor(
    readonly code: LoaderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A pinned map that does not match the object's definition of it. */
export class MapIncompatibleError extends Error {
  override readonly name = 'MapIncompatibleError';
  readonly code = 'MAP_INCOMPATIBLE';
}

/** Something the object asks for that this loader (or kernel) cannot do yet. */
export class NotSupportedError extends Error {
  override readonly name = 'NotSupportedError';
  readonly code = 'NOT_SUPPORTED';
}

/** The object's BTF could not be loaded into the kernel. */
export class BtfLoadError extends Error {
  override readonly name = 'BtfLoadError';
  constructor(
    readonly errno: number,
    readonly log: string,
  ) {
    super(`BPF_BTF_LOAD: ${errnoName(errno)}: ${log.trim().split('\n').slice(-2).join(' / ') || 'no log'}`);
  }
}
