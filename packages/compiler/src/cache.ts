/**
 * The build cache: compiled objects keyed by clang, arguments, source and
 * every header read (ccache's direct mode), trusting nothing it reads back:
 * the directory checked (cache-trust.ts), manifests validated, paths kept
 * inside it, every object's content hash verified on every hit.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { readCacheFile, readHeaderFile, trustedCacheDir } from './cache-trust.js';

/**
 * The build cache, in ccache's "direct mode": the key of a compile is a hash
 * of the clang version, the exact arguments and the source text; under it a
 * manifest lists every header clang reported reading (its depfile) with the
 * hash of each. A hit needs every header to still hash the same; then the
 * stored object is returned and clang is not run at all.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBPF_CACHE_DIR) return env.TSBPF_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsbpf');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Manifest {
  readonly headers: readonly { readonly path: string; readonly sha256: string }[];
  readonly object: string;
  readonly warnings: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
const OBJECT_NAME = /^[0-9a-f]{64}\.o$/;
/** More headers than any compile reads: a manifest listing more is not one of ours. */
const MAX_HEADERS = 100_000;

/**
 * A manifest as read from the cache, or undefined if it is not one this
 * cache wrote: its object a bare `<sha256>.o` name (never a path out of the
 * cache), every header an absolute path with a sha256.
 */
function parseManifest(bytes: Uint8Array | undefined): Manifest | undefined {
  if (!bytes) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const { headers, object, warnings } = m as Record<string, unknown>;
  if (typeof object !== 'string' || !OBJECT_NAME.test(object) || typeof warnings !== 'string') return undefined;
  if (!Array.isArray(headers) || headers.length > MAX_HEADERS) return undefined;
  for (const h of headers as unknown[]) {
    if (typeof h !== 'object' || h === null) return undefined;
    const { path, sha256: hash } = h as Record<string, unknown>;
    if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0') || typeof hash !== 'string' || !SHA256.test(hash)) return undefined;
  }
  return { headers: headers as Manifest['headers'], object, warnings };
}

/** The cache's default size bound (objects and manifests together), as ccache bounds its own. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

export class BuildCache {
  private root: string | undefined | null = null;

  constructor(
    readonly dir: string,
    /** Past this many bytes, store() removes the least recently used entries. */
    readonly maxBytes = DEFAULT_CACHE_MAX_BYTES,
  ) {}

  /**
   * The directory's real path once it is known to be trusted (made private
   * if missing); undefined if it cannot be made. Throws CACHE_UNTRUSTED for
   * a directory another user could write.
   */
  private trustedRoot(): string | undefined {
    if (this.root === null) this.root = trustedCacheDir(this.dir);
    return this.root;
  }

  private manifestPath(root: string, key: string): string {
    // Any string is a key; only 64 hex digits are used as a name.
    const name = SHA256.test(key) ? key : sha256(key);
    return join(root, 'compile', name.slice(0, 2), `${name}.json`);
  }

  /**
   * The cached object and clang's warnings for this key, if every recorded
   * header is unchanged and the object is the one recorded (its hash is its
   * name). Anything else is a miss, and a damaged object is removed.
   */
  lookup(key: string): { object: Uint8Array; warnings: string } | undefined {
    const root = this.trustedRoot();
    if (root === undefined) return undefined;
    const path = this.manifestPath(root, key);
    const manifest = parseManifest(readCacheFile(path));
    if (!manifest) return undefined;
    for (const h of manifest.headers) {
      const bytes = readHeaderFile(h.path);
      if (!bytes || sha256(bytes) !== h.sha256) return undefined;
    }
    const objectPath = join(root, 'objects', manifest.object);
    const object = readCacheFile(objectPath);
    if (!object) return undefined;
    if (`${sha256(object)}.o` !== manifest.object) {
      rmSync(objectPath, { force: true });
      return undefined;
    }
    // A hit is a use: the manifest's mtime orders eviction.
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // read-only cache: still a hit
    }
    return { object, warnings: manifest.warnings };
  }

  store(key: string, headers: readonly string[], object: Uint8Array, warnings: string): void {
    const root = this.trustedRoot();
    if (root === undefined) return;
    const hashed: { path: string; sha256: string }[] = [];
    for (const path of headers) {
      const bytes = readHeaderFile(path);
      if (!bytes || !isAbsolute(path)) return; // a header that cannot be hashed again could never give a hit
      hashed.push({ path, sha256: sha256(bytes) });
    }
    const objectName = `${sha256(object)}.o`;
    atomicWrite(join(root, 'objects', objectName), object, 0o644);
    const manifest: Manifest = { headers: hashed, object: objectName, warnings };
    atomicWrite(this.manifestPath(root, key), JSON.stringify(manifest), 0o644);
    this.trim();
  }

  /**
   * Keeps the cache under `maxBytes`: removes manifests least recently used
   * first, then the objects no manifest names any more. Entries of builds
   * running concurrently may go too; they are only a cache.
   */
  trim(): void {
    const root = this.trustedRoot();
    if (root === undefined) return;
    const manifests: { path: string; mtime: number; size: number; object: string }[] = [];
    const objects = new Map<string, number>();
    let total = 0;
    const list = (dir: string) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    };
    for (const shard of list(join(root, 'compile'))) {
      for (const name of list(join(root, 'compile', shard))) {
        if (!name.endsWith('.json')) continue;
        const path = join(root, 'compile', shard, name);
        try {
          const st = statSync(path);
          const m = parseManifest(readCacheFile(path));
          if (!m) continue; // unreadable, or half-written by another process
          manifests.push({ path, mtime: st.mtimeMs, size: st.size, object: m.object });
          total += st.size;
        } catch {
          // gone meanwhile
        }
      }
    }
    for (const name of list(join(root, 'objects'))) {
      if (!OBJECT_NAME.test(name)) continue;
      try {
        const size = statSync(join(root, 'objects', name)).size;
        objects.set(name, size);
        total += size;
      } catch {
        // gone meanwhile
      }
    }
    if (total <= this.maxBytes) return;
    const users = new Map<string, number>();
    for (const m of manifests) users.set(m.object, (users.get(m.object) ?? 0) + 1);
    manifests.sort((a, b) => a.mtime - b.mtime);
    for (const m of manifests) {
      if (total <= this.maxBytes) break;
      rmSync(m.path, { force: true });
      total -= m.size;
      const left = (users.get(m.object) ?? 1) - 1;
      users.set(m.object, left);
      if (left === 0 && objects.has(m.object)) {
        rmSync(join(root, 'objects', m.object), { force: true });
        total -= objects.get(m.object)!;
        objects.delete(m.object);
      }
    }
  }
}

/**
 * Write then rename, so concurrent builds never see half a file. The
 * temporary file is created new (`wx`: never through something already
 * there); `mode` for files in the cache (directories made are private).
 */
export function atomicWrite(path: string, data: string | Uint8Array, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: mode === undefined ? undefined : 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
