import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ObjectParseError } from '../errors.js';
import { LD_CACHE_ABI, findInLdSoCache, parseLdSoCache } from './ld-so-cache.js';

/** A cache in glibc's current format, optionally after an old-format table. */
function cache(entries: [name: string, path: string, flags: number][], old = false): Uint8Array {
  const enc = new TextEncoder();
  const head = 48 + entries.length * 24;
  const strings: number[] = [];
  const offsets = entries.map(([name, path]) => {
    const at = [head + strings.length];
    strings.push(...enc.encode(name), 0);
    at.push(head + strings.length);
    strings.push(...enc.encode(path), 0);
    return at as [number, number];
  });
  const bytes = new Uint8Array(head + strings.length);
  const v = new DataView(bytes.buffer);
  bytes.set(enc.encode('glibc-ld.so.cache1.1'));
  v.setUint32(20, entries.length, true);
  v.setUint32(24, strings.length, true);
  entries.forEach(([, , flags], i) => {
    v.setInt32(48 + i * 24, flags, true);
    v.setUint32(52 + i * 24, offsets[i]![0], true);
    v.setUint32(56 + i * 24, offsets[i]![1], true);
  });
  bytes.set(strings, head);
  if (!old) return bytes;
  const prefix = new Uint8Array(16 + 12 + 4); // one old entry, padded to 8
  prefix.set(enc.encode('ld.so-1.7.0'));
  new DataView(prefix.buffer).setUint32(12, 1, true);
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}

describe('/etc/ld.so.cache', () => {
  const entries: [string, string, number][] = [
    ['libc.so.6', '/lib/i386-linux-gnu/libc.so.6', 0x0003],
    ['libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', 0x0a03],
    ['libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6', 0x0303],
    ['libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1', 0x0303],
  ];

  it('parses the glibc 2.2+ format, alone and after the old table, and finds a library for an ABI', () => {
    for (const old of [false, true]) {
      const parsed = parseLdSoCache(cache(entries, old));
      expect(parsed.map((e) => [e.name, e.path, e.flags])).toEqual(entries);
      expect(findInLdSoCache(parsed, 'libc.so.6', LD_CACHE_ABI.x64)).toBe('/lib/x86_64-linux-gnu/libc.so.6');
      expect(findInLdSoCache(parsed, 'libc.so.6', LD_CACHE_ABI.arm64)).toBe('/lib/aarch64-linux-gnu/libc.so.6');
      expect(findInLdSoCache(parsed, 'libc.so.6')).toBe('/lib/i386-linux-gnu/libc.so.6');
      expect(findInLdSoCache(parsed, 'libnope.so.1', LD_CACHE_ABI.x64)).toBeUndefined();
    }
  });

  it('refuses bytes that are no cache or are cut short, with a typed error', () => {
    const good = cache(entries);
    for (const bytes of [new Uint8Array(0), new TextEncoder().encode('hello world, no cache'), good.subarray(0, 40), good.subarray(0, 100)]) {
      expect(() => parseLdSoCache(bytes)).toThrow(ObjectParseError);
      expect(() => parseLdSoCache(bytes)).toThrow(expect.objectContaining({ code: 'LD_CACHE_INVALID' }));
    }
    const broken = cache(entries);
    new DataView(broken.buffer).setUint32(56, 1 << 30, true); // a path offset far past the end
    expect(() => parseLdSoCache(broken)).toThrow(/path .* past the end/);
  });

  it.runIf(existsSync('/etc/ld.so.cache') && existsSync('/sbin/ldconfig') && process.arch === 'x64')('agrees with ldconfig -p on this machine', () => {
    const parsed = parseLdSoCache(readFileSync('/etc/ld.so.cache'));
    const listed = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^\s+(\S+) \(.*\) => (\S+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]);
    expect(parsed.map((e) => [e.name, e.path])).toEqual(listed);
    expect(findInLdSoCache(parsed, 'libc.so.6', LD_CACHE_ABI.x64)).toMatch(/\/libc\.so\.6$/);
  });
});
