/**
 * Whether a build cache directory may be trusted (it and every directory
 * above it beyond the reach of other users), and reading files without being
 * led astray: cache files not through links and only if this user wrote
 * them, headers only if regular files, everything within a size bound.
 *
 * The threat: a cache directory another user can write (a shared
 * TSBPF_CACHE_DIR, a world-writable parent, root building in a user's
 * ~/.cache) lets them plant objects that get loaded into the kernel, or a
 * vmlinux.h that gets compiled. Content hashes catch a damaged or swapped
 * file, but not a planted manifest naming a planted object with its right
 * hash; so a cache that others can write is refused outright (a typed error:
 * a misconfiguration or an attack, either way the user's to fix, where
 * silently building without the cache would hide both).
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompilerError } from './errors.js';

const euid = (): number | undefined => process.geteuid?.();

/** Why `path` (lstat'ed) would let another user change what is in it, or undefined if it would not. */
function untrusted(path: string, own: boolean): string | undefined {
  const st = lstatSync(path);
  const me = euid();
  if (me === undefined) return undefined;
  if (!st.isDirectory()) return `${path} is not a directory`;
  const writable = (st.mode & 0o022) !== 0;
  if (own) {
    if (st.uid !== me) return `${path} is owned by uid ${st.uid}, not by this user (uid ${me})`;
    if (writable) return `${path} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)})`;
    return undefined;
  }
  if (st.uid !== me && st.uid !== 0) return `${path}, above it, is owned by uid ${st.uid} (neither root nor this user)`;
  // A sticky directory (/tmp) lets others add entries, not rename or remove ours.
  if (writable && (st.mode & 0o1000) === 0) return `${path}, above it, is writable by others and not sticky (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/**
 * The cache directory's real path, made (mode 0700) if it is missing, once
 * it is known that no other user can change what is in it: it is owned by
 * this user and writable by nobody else, and every directory above it is
 * root's or this user's and not writable by others (unless sticky).
 * Undefined when it does not exist and cannot be made (then nothing is
 * cached); throws CACHE_UNTRUSTED otherwise.
 */
export function trustedCacheDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    // read-only or not ours to make: checked below
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return undefined;
  }
  let why = untrusted(real, true);
  for (let p = dirname(real); why === undefined; p = dirname(p)) {
    why = untrusted(p, false);
    if (p === dirname(p)) break;
  }
  if (why !== undefined) {
    throw new CompilerError(
      'CACHE_UNTRUSTED',
      `build cache ${dir} refused: ${why}, so another user could plant objects or headers in it; ` +
        `make it private (chmod 700, owned by you), set TSBPF_CACHE_DIR to a private directory, or build without the cache (cache: false, --no-cache)`,
    );
  }
  return real;
}

/** Objects, manifests and vmlinux.h larger than this are not read from the cache. */
export const MAX_CACHE_FILE_BYTES = 256 * 1024 * 1024;

/** Reads at most `max` bytes of a regular file already opened; undefined if it is not one, or larger. */
function readOpened(fd: number, max: number, own: boolean): Uint8Array | undefined {
  const st = fstatSync(fd);
  if (!st.isFile() || st.size > max) return undefined;
  const me = euid();
  if (own && me !== undefined && (st.uid !== me || (st.mode & 0o022) !== 0)) return undefined;
  const out = new Uint8Array(st.size);
  let at = 0;
  while (at < out.length) {
    const n = readSync(fd, out, at, out.length - at, at);
    if (n === 0) return undefined; // shrank while read: not what was hashed
    at += n;
  }
  return out;
}

function readBounded(path: string, flags: number, max: number, own: boolean): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch {
    return undefined;
  }
  try {
    return readOpened(fd, max, own);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * A file inside the (trusted) cache: not through a symbolic link, a regular
 * file written by this user and by nobody else, at most `max` bytes; else
 * undefined (a miss).
 */
export function readCacheFile(path: string, max = MAX_CACHE_FILE_BYTES): Uint8Array | undefined {
  return readBounded(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK, max, true);
}

/**
 * A header named by a manifest, to hash: anywhere (system headers, the
 * user's), but only a regular file (never a FIFO or a device that would
 * block or never end), at most `max` bytes; else undefined (a miss).
 */
export function readHeaderFile(path: string, max = MAX_CACHE_FILE_BYTES): Uint8Array | undefined {
  return readBounded(path, constants.O_RDONLY | constants.O_NONBLOCK, max, false);
}
