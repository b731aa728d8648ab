/** `ensureVmlinuxHeader`: vmlinux.h generated from a kernel BTF, once per BTF content, in the cache. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, formatBtfC, withContext } from '@tsbpf/object';
import { atomicWrite, defaultCacheDir, sha256 } from './cache.js';
import { CompilerError } from './errors.js';

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
  const btfPath = options.btfPath ?? KERNEL_BTF;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(btfPath);
  } catch (e) {
    throw CompilerError.io('BTF_UNREADABLE', btfPath, e);
  }
  const dir = join(options.cacheDir ?? defaultCacheDir(), 'vmlinux', sha256(bytes));
  const header = join(dir, 'vmlinux.h');
  if (existsSync(header)) return dir;
  const text = withContext(`vmlinux.h from ${btfPath}`, () => formatBtfC(Btf.parse(new Uint8Array(bytes))));
  try {
    atomicWrite(header, text);
  } catch (e) {
    throw CompilerError.io('CACHE_UNWRITABLE', `${header} (set TSBPF_CACHE_DIR to a writable directory)`, e);
  }
  return dir;
}
