import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BuildCache, sha256 } from './cache.js';

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
