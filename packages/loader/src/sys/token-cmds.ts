/**
 * BPF tokens at the bpf() level: BPF_TOKEN_CREATE from a bpffs mounted with
 * delegation, and the token in force, which the commands that accept one
 * (BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_BTF_LOAD) pass with BPF_F_TOKEN_FD.
 */
import { begin, call, ownFd, put } from './attr.js';
import { tokenCreateAttr as T } from './layouts.generated.js';

/** BPF_F_TOKEN_FD: the command's token fd field holds a token (map_flags, prog_flags, btf_flags). */
export const BPF_F_TOKEN_FD = 1 << 16;

/** BPF_TOKEN_CREATE: a token fd from `bpffsFd`, an fd of the root of a bpffs mounted with delegate_* options. */
export function tokenCreate(bpffsFd: number, context?: string): number {
  begin('TOKEN_CREATE');
  put(T.flags, 0);
  put(T.bpffs_fd, bpffsFd);
  return ownFd(call('TOKEN_CREATE', context));
}

let inForce: number | undefined;

/** The token fd the token-taking commands pass now, if any. */
export function tokenInForce(): number | undefined {
  return inForce;
}

/** Runs `fn` with `fd` as the token in force (nested calls restore the outer one). */
export function withTokenFd<T>(fd: number | undefined, fn: () => T): T {
  const outer = inForce;
  inForce = fd;
  try {
    return fn();
  } finally {
    inForce = outer;
  }
}
