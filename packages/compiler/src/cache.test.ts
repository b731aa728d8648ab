/**
 * The build cache: its size bound, and that it trusts nothing it reads back
 * (planted objects, manifests with paths out of it or that would hang, a
 * directory others can write or another user owns).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BuildCache, sha256 } from './cache.js';
import { compile } from './compile.js';
import type { ClangInfo } from './find-clang.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-cache-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const objectsIn = (dir: string) => (existsSync(join(dir, 'objects')) ? readdirSync(join(dir, 'objects')).length : 0);

describe('BuildCache size bound', () => {
  it('evicts the least recently used entries past maxBytes, and objects only when nothing names them', () => {
    const dir = join(work, 'lru');
    const header = join(work, 'h.h');
    writeFileSync(header, '#define X 1\n');
    const cache = new BuildCache(dir, 3000); // room for two 1 KB objects and their manifests, not three
    const obj = (n: number) => new Uint8Array(1024).fill(n);
    const key = (n: number) => sha256(`key ${n}`);
    const age = (n: number, secondsAgo: number) => {
      const when = new Date(Date.now() - secondsAgo * 1000);
      utimesSync(join(dir, 'compile', key(n).slice(0, 2), `${key(n)}.json`), when, when);
    };

    cache.store(key(1), [header], obj(1), '');
    age(1, 300);
    cache.store(key(2), [header], obj(2), '');
    age(2, 200);
    expect(cache.lookup(key(1))?.object[0]).toBe(1); // a hit makes 1 the most recently used
    cache.store(key(3), [header], obj(3), ''); // over the bound: 2 is the oldest now
    expect(cache.lookup(key(2))).toBeUndefined();
    expect(cache.lookup(key(1))?.object[0]).toBe(1);
    expect(cache.lookup(key(3))?.object[0]).toBe(3);
    expect(objectsIn(dir)).toBe(2);

    // Two keys sharing one object (the same bytes): the object stays while either names it.
    cache.store(key(4), [header], obj(3), '');
    expect(objectsIn(dir)).toBeLessThanOrEqual(2);
    expect(cache.lookup(key(4))?.object[0]).toBe(3);
  });

  it('leaves a cache under its bound alone', () => {
    const dir = join(work, 'roomy');
    const cache = new BuildCache(dir);
    for (let n = 0; n < 5; n++) cache.store(sha256(`k${n}`), [], new Uint8Array(100).fill(n), '');
    for (let n = 0; n < 5; n++) expect(cache.lookup(sha256(`k${n}`))?.object[0]).toBe(n);
  });
});

// --- a cache that trusts nothing --------------------------------------------

const stored = (dir: string, n: number) => {
  const cache = new BuildCache(dir);
  const header = join(work, `trust-h${n}.h`);
  writeFileSync(header, `#define N ${n}\n`);
  const object = new Uint8Array(64).fill(n);
  cache.store(sha256(`trust ${n}`), [header], object, '');
  expect(cache.lookup(sha256(`trust ${n}`))?.object).toEqual(object);
  return { cache, key: sha256(`trust ${n}`), object, objectPath: join(dir, 'objects', `${sha256(object)}.o`) };
};
const manifestOf = (dir: string, key: string) => join(dir, 'compile', key.slice(0, 2), `${key}.json`);
const untrusted = expect.objectContaining({ name: 'CompilerError', code: 'CACHE_UNTRUSTED' });

describe('BuildCache trusts nothing it reads back', () => {
  it('a planted object (other bytes under the name of the stored one) is no hit, and goes', () => {
    const dir = join(work, 'planted-object');
    const { cache, key, objectPath } = stored(dir, 1);
    writeFileSync(objectPath, new Uint8Array(64).fill(0x66));
    expect(cache.lookup(key)).toBeUndefined();
    expect(existsSync(objectPath)).toBe(false);
  });

  it('an object reached through a symbolic link is no hit, even with the right bytes', () => {
    const dir = join(work, 'linked-object');
    const { cache, key, object, objectPath } = stored(dir, 2);
    const elsewhere = join(work, 'elsewhere.o');
    writeFileSync(elsewhere, object);
    rmSync(objectPath);
    symlinkSync(elsewhere, objectPath);
    expect(cache.lookup(key)).toBeUndefined();
  });

  it('a manifest whose object is a path out of the cache is no hit, and trim removes nothing outside', () => {
    const dir = join(work, 'escaping');
    const { cache, key } = stored(dir, 3);
    const victim = join(work, 'victim.o');
    writeFileSync(victim, 'not the cache’s');
    const escapes = ['../../victim.o', `../../${'0'.repeat(64)}.o`, '/etc/hostname', `${'a'.repeat(64)}.o/../../../victim.o`];
    for (const object of escapes) {
      writeFileSync(manifestOf(dir, key), JSON.stringify({ headers: [], object, warnings: '' }));
      expect(cache.lookup(key), object).toBeUndefined();
      new BuildCache(dir, 1).trim();
      expect(existsSync(victim), object).toBe(true);
    }
  });

  it('malformed manifests are misses, never a crash or a hang (a FIFO or a device as a header)', () => {
    const dir = join(work, 'malformed');
    const { cache, key } = stored(dir, 4);
    const fifo = join(work, 'fifo.h');
    execFileSync('mkfifo', [fifo]);
    const hash = sha256('');
    const bad: unknown[] = [
      null,
      [],
      'text',
      { headers: null, object: `${hash}.o`, warnings: '' },
      { headers: [{ path: 'relative.h', sha256: hash }], object: `${hash}.o`, warnings: '' },
      { headers: [{ path: '/etc/hostname' }], object: `${hash}.o`, warnings: '' },
      { headers: [], object: `${hash}.o`, warnings: 7 },
      { headers: [{ path: fifo, sha256: hash }], object: `${hash}.o`, warnings: '' },
      { headers: [{ path: '/dev/zero', sha256: hash }], object: `${hash}.o`, warnings: '' },
    ];
    for (const m of bad) {
      writeFileSync(manifestOf(dir, key), JSON.stringify(m));
      const t0 = Date.now();
      expect(cache.lookup(key), JSON.stringify(m)).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    writeFileSync(manifestOf(dir, key), '{"headers": [');
    expect(cache.lookup(key)).toBeUndefined();
    expect(cache.lookup('../../../../etc/passwd')).toBeUndefined(); // any key is hashed to a name first
  });

  it('a cache directory writable by others, or by its group, is refused with a typed error', () => {
    const dir = join(work, 'shared');
    const { key } = stored(dir, 5);
    for (const mode of [0o777, 0o770, 0o1777, 0o702]) {
      chmodSync(dir, mode);
      expect(() => new BuildCache(dir).lookup(key), mode.toString(8)).toThrow(untrusted);
      expect(() => new BuildCache(dir).store(key, [], new Uint8Array(1), ''), mode.toString(8)).toThrow(untrusted);
    }
    chmodSync(dir, 0o755);
    expect(new BuildCache(dir).lookup(key)).toBeDefined();
  });

  it('so is a cache below a directory others can write (not sticky); below a sticky one, as /tmp, it is not', () => {
    const parent = join(work, 'open-parent');
    const dir = join(parent, 'cache');
    const { key } = stored(dir, 6);
    chmodSync(parent, 0o777);
    expect(() => new BuildCache(dir).lookup(key)).toThrow(untrusted);
    expect(() => new BuildCache(join(parent, 'link-to-cache')).lookup(key)).toThrow(untrusted); // made there: still below it
    chmodSync(parent, 0o1777);
    expect(new BuildCache(dir).lookup(key)).toBeDefined();
    // Reached through a symbolic link: the real path is what is checked.
    chmodSync(parent, 0o777);
    const link = join(work, 'cache-link');
    symlinkSync(dir, link);
    expect(() => new BuildCache(link).lookup(key)).toThrow(untrusted);
    chmodSync(parent, 0o755);
    expect(new BuildCache(link).lookup(key)).toBeDefined();
  });

  it('a missing cache directory is made private (0700)', () => {
    const dir = join(work, 'new', 'cache');
    stored(dir, 7);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describeNeeds([isRoot()], 'BuildCache: ownership', () => {
  it("a cache directory owned by another user is refused (root building in a user's cache)", () => {
    const dir = join(work, 'theirs');
    const { key } = stored(dir, 8);
    chownSync(dir, 65534, 65534);
    expect(() => new BuildCache(dir).lookup(key)).toThrow(untrusted);
    chownSync(dir, 0, 0);
    // A file inside written by someone else is a miss.
    const manifest = manifestOf(dir, key);
    chownSync(manifest, 65534, 65534);
    expect(new BuildCache(dir).lookup(key)).toBeUndefined();
  });
});

describe('compile and an untrusted cache', () => {
  it('refuses before clang runs; cache: false builds without it', async () => {
    const dir = join(work, 'compile-shared');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    const source = join(work, 'x.bpf.c');
    writeFileSync(source, 'int x;\n');
    // A clang that cannot start: what fails first says whether the cache was consulted.
    const clang: ClangInfo = { path: join(work, 'no-such-clang'), version: { major: 14, minor: 0, patch: 0 }, versionText: 'none', strip: '/bin/false' };
    await expect(compile({ source, clang, cacheDir: dir })).rejects.toThrow(untrusted);
    await expect(compile({ source, clang, cacheDir: dir, cache: false })).rejects.toThrow(expect.objectContaining({ code: 'CLANG_NOT_FOUND' }));
  });
});
