/** The build cache: compiled objects keyed by clang, arguments, source and every header read (ccache's direct mode). */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

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

/** The cache's default size bound (objects and manifests together), as ccache bounds its own. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

export class BuildCache {
  constructor(
    readonly dir: string,
    /** Past this many bytes, store() removes the least recently used entries. */
    readonly maxBytes = DEFAULT_CACHE_MAX_BYTES,
  ) {}

  private manifestPath(key: string): string {
    return join(this.dir, 'compile', key.slice(0, 2), `${key}.json`);
  }

  /** The cached object and clang's warnings for this key, if every recorded header is unchanged. */
  lookup(key: string): { object: Uint8Array; warnings: string } | undefined {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(this.manifestPath(key), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
    for (const h of manifest.headers) {
      let current: string;
      try {
        current = sha256(readFileSync(h.path));
      } catch {
        return undefined;
      }
      if (current !== h.sha256) return undefined;
    }
    let object: Uint8Array;
    try {
      object = new Uint8Array(readFileSync(join(this.dir, 'objects', manifest.object)));
    } catch {
      return undefined;
    }
    // A hit is a use: the manifest's mtime orders eviction.
    const now = new Date();
    try {
      utimesSync(this.manifestPath(key), now, now);
    } catch {
      // read-only cache: still a hit
    }
    return { object, warnings: manifest.warnings };
  }

  store(key: string, headers: readonly string[], object: Uint8Array, warnings: string): void {
    const objectName = `${sha256(object)}.o`;
    atomicWrite(join(this.dir, 'objects', objectName), object);
    const manifest: Manifest = {
      headers: headers.map((path) => ({ path, sha256: sha256(readFileSync(path)) })),
      object: objectName,
      warnings,
    };
    atomicWrite(this.manifestPath(key), JSON.stringify(manifest));
    this.trim();
  }

  /**
   * Keeps the cache under `maxBytes`: removes manifests least recently used
   * first, then the objects no manifest names any more. Entries of builds
   * running concurrently may go too; they are only a cache.
   */
  trim(): void {
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
    for (const shard of list(join(this.dir, 'compile'))) {
      for (const name of list(join(this.dir, 'compile', shard))) {
        if (!name.endsWith('.json')) continue;
        const path = join(this.dir, 'compile', shard, name);
        try {
          const st = statSync(path);
          const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
          manifests.push({ path, mtime: st.mtimeMs, size: st.size, object: m.object });
          total += st.size;
        } catch {
          // unreadable or half-written by another process: skip
        }
      }
    }
    for (const name of list(join(this.dir, 'objects'))) {
      try {
        const size = statSync(join(this.dir, 'objects', name)).size;
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
        rmSync(join(this.dir, 'objects', m.object), { force: true });
        total -= objects.get(m.object)!;
        objects.delete(m.object);
      }
    }
  }
}

/** Write then rename, so concurrent builds never see half a file. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
