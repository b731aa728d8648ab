/**
 * BpfToken: a BPF token (Linux 6.9+) created from a bpffs mounted with
 * delegate_cmds/maps/progs/attachs in a user namespace, which lets that
 * namespace's unprivileged root create maps, load BTF and programs; the
 * token in force for a call (`token.use(() => loadCollection(spec))`), and
 * LIBBPF_BPF_TOKEN_PATH's discovery rule.
 */
import { closeSync, openSync } from 'node:fs';
import { LoaderError } from './errors.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';

/** Where libbpf looks for a delegating bpffs when nothing says otherwise. */
export const DEFAULT_TOKEN_PATH = '/sys/fs/bpf';

export class BpfToken implements Disposable {
  private closed = false;
  private constructor(private readonly fdValue: number) {}

  /**
   * BPF_TOKEN_CREATE from a bpffs: a path to its root (opened and closed
   * here) or an fd of it (a mount fd from fsmount()). The kernel refuses
   * with ENOENT a bpffs that delegates nothing, and with EOPNOTSUPP a
   * bpffs of the initial user namespace.
   */
  static create(bpffs: string | number = DEFAULT_TOKEN_PATH): BpfToken {
    if (typeof bpffs === 'number') return new BpfToken(sys.tokenCreate(bpffs, `bpffs fd ${bpffs}`));
    let dir: number;
    try {
      dir = openSync(bpffs, 'r');
    } catch (e) {
      const errno = typeof (e as { errno?: unknown }).errno === 'number' ? -(e as { errno: number }).errno : 2;
      throw new SyscallError('open', errno, `BPF token from ${bpffs}`);
    }
    try {
      return new BpfToken(sys.tokenCreate(dir, `BPF token from ${bpffs}`));
    } finally {
      closeSync(dir);
    }
  }

  /**
   * The token libbpf would use: LIBBPF_BPF_TOKEN_PATH names the bpffs (set
   * but empty: no token); unset, /sys/fs/bpf if it delegates. A named path
   * that fails is an error; the default path failing means no token.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): BpfToken | undefined {
    const named = env.LIBBPF_BPF_TOKEN_PATH;
    if (named === '') return undefined;
    if (named !== undefined) return BpfToken.create(named);
    try {
      return BpfToken.create(DEFAULT_TOKEN_PATH);
    } catch (e) {
      if (e instanceof SyscallError) return undefined;
      throw e;
    }
  }

  get fd(): number {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext('BPF token');
    return this.fdValue;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Runs `fn` with this token in force: the maps it creates, the BTF and
   * programs it loads pass the token (BPF_F_TOKEN_FD). Links need none of
   * their own: the kernel checks a link against its program's token.
   */
  use<T>(fn: () => T): T {
    return sys.withTokenFd(this.fd, fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.closeFd(this.fdValue);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
