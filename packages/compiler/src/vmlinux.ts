import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, formatBtfC } from '@tsbpf/object';
import { atomicWrite, defaultCacheDir, sha256 } from './cache.js';

export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export interface VmlinuxOptions {
  /** Default: the running kernel's BTF. */
  readonly btfPath?: string;
  readonly cacheDir?: string;
}

/**
 * Writes `vmlinux.h` for a kernel BTF into the cache, once per BTF content
 * (a new kernel gets a new header), and returns the directory to put on the
 * include path.
 */
export function ensureVmlinuxHeader(options: VmlinuxOptions = {}): string {
  const bytes = readFileSync(options.btfPath ?? KERNEL_BTF);
  const dir = join(options.cacheDir ?? defaultCacheDir(), 'vmlinux', sha256(bytes));
  const header = join(dir, 'vmlinux.h');
  if (!existsSync(header)) atomicWrite(header, formatBtfC(Btf.parse(new Uint8Array(bytes))));
  return dir;
}
