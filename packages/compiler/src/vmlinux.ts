/**
 * `ensureVmlinuxHeader`: vmlinux.h generated from a kernel BTF, once per BTF
 * content, in the (trusted) cache, and verified against its recorded hash
 * each time it is used; a directory holding anything but that one header is
 * never put on the include path. Without the cache, made afresh per build.
 */
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, formatBtfC, withContext } from '@tsbpf/object';
import { atomicWrite, defaultCacheDir, sha256 } from './cache.js';
import { readCacheFile, trustedCacheDir } from './cache-trust.js';
import { CompilerError } from './errors.js';

export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export interface VmlinuxOptions {
  /** Default: the running kernel's BTF. */
  readonly btfPath?: string;
  readonly cacheDir?: string;
}

/**
 * Whether `dir` is the header this cache made: a real directory of this
 * user's holding only `vmlinux.h`, whose hash is the one recorded beside it.
 * Anything else (a header changed or planted, a sibling such as
 * `linux/types.h` that would shadow the system's) means it is made again.
 */
function verified(dir: string, hashFile: string): boolean {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== (process.geteuid?.() ?? st.uid) || (st.mode & 0o022) !== 0) return false;
    const names = readdirSync(dir);
    if (names.length !== 1 || names[0] !== 'vmlinux.h') return false;
    const want = readCacheFile(hashFile, 64);
    const header = readCacheFile(join(dir, 'vmlinux.h'));
    return want !== undefined && header !== undefined && sha256(header) === new TextDecoder().decode(want);
  } catch {
    return false;
  }
}

/**
 * Writes `vmlinux.h` for a kernel BTF into the cache, once per BTF content
 * (a new kernel gets a new header), and returns the directory to put on the
 * include path. The cache directory must be trusted (CACHE_UNTRUSTED
 * otherwise); the header is verified on every call, and made again if it
 * does not match.
 */
export function ensureVmlinuxHeader(options: VmlinuxOptions = {}): string {
  const btfPath = options.btfPath ?? KERNEL_BTF;
  const bytes = readBtf(btfPath);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const root = trustedCacheDir(cacheDir);
  if (root === undefined) {
    throw new CompilerError('CACHE_UNWRITABLE', `${cacheDir}: cannot be made (set TSBPF_CACHE_DIR to a writable directory)`);
  }
  const btfHash = sha256(bytes);
  const dir = join(root, 'vmlinux', btfHash);
  const hashFile = join(root, 'vmlinux', `${btfHash}.sha256`);
  if (verified(dir, hashFile)) return dir;

  const text = headerText(btfPath, bytes);
  const fresh = `${dir}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(fresh, { recursive: true, mode: 0o700 });
    atomicWrite(join(fresh, 'vmlinux.h'), text, 0o644);
    atomicWrite(hashFile, sha256(text), 0o644);
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(fresh, dir);
    } catch (e) {
      // Another build put its (identical) header there first: use it if it checks out.
      if (!verified(dir, hashFile)) throw e;
    }
  } catch (e) {
    throw CompilerError.io('CACHE_UNWRITABLE', `${join(dir, 'vmlinux.h')} (set TSBPF_CACHE_DIR to a writable directory)`, e);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
  return dir;
}

function readBtf(btfPath: string): Uint8Array {
  try {
    return readFileSync(btfPath);
  } catch (e) {
    throw CompilerError.io('BTF_UNREADABLE', btfPath, e);
  }
}

function headerText(btfPath: string, bytes: Uint8Array): string {
  return withContext(`vmlinux.h from ${btfPath}`, () => formatBtfC(Btf.parse(new Uint8Array(bytes))));
}

/**
 * For a build without the cache (`cache: false`): `vmlinux.h` made afresh
 * in `dir`, a private directory of the caller's, so that nothing is read
 * from a cache directory at all. Returns `dir`.
 */
export function freshVmlinuxHeader(btfPath: string | undefined, dir: string): string {
  const path = btfPath ?? KERNEL_BTF;
  const text = headerText(path, readBtf(path));
  try {
    writeFileSync(join(dir, 'vmlinux.h'), text, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    throw CompilerError.io('OUTPUT_UNWRITABLE', join(dir, 'vmlinux.h'), e);
  }
  return dir;
}
