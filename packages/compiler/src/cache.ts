import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

export class BuildCache {
  constructor(readonly dir: string) {}

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
    try {
      return { object: new Uint8Array(readFileSync(join(this.dir, 'objects', manifest.object))), warnings: manifest.warnings };
    } catch {
      return undefined;
    }
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
  }
}

/** Write then rename, so concurrent builds never see half a file. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
