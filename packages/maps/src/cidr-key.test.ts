/**
 * cidrKey's text against a reference parser written here from the grammar
 * its documentation states (an address, then optionally `/` and 1 to 3
 * decimal digits up to 32 or 128): the same verdict and the same bytes for
 * valid CIDRs, near misses and random text. No kernel needed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { cidrKey } from './special-maps.js';

/** IPv4: four decimal numbers of 1 to 3 digits, each at most 255. */
function refIpv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/** IPv6: up to 8 groups of 1 to 4 hex digits, with at most one `::` standing for one or more zero groups. */
function refIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return undefined;
  const words = [...head.map((g) => parseInt(g, 16)), ...Array<number>(8 - all.length).fill(0), ...tail.map((g) => parseInt(g, 16))];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The key's bytes (prefix length, little-endian u32, then the address), or undefined when the text is no CIDR. */
function reference(family: 'ipv4' | 'ipv6', text: string): number[] | undefined {
  const max = family === 'ipv4' ? 32 : 128;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let prefix = max;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
    prefix = Number(len);
  }
  const addr = family === 'ipv4' ? refIpv4(addrText) : refIpv6(addrText);
  return addr && [prefix & 0xff, 0, 0, 0, ...addr];
}

/** What cidrKey makes of `text`: the key's bytes, or the error's code. */
function actual(family: 'ipv4' | 'ipv6', text: string): number[] | string {
  const codec = cidrKey(family);
  const view = new DataView(new ArrayBuffer(codec.size));
  try {
    codec.encode(text, view, 0);
    return [...new Uint8Array(view.buffer)];
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
}

function agree(family: 'ipv4' | 'ipv6', text: string): void {
  const want = reference(family, text);
  expect(actual(family, text), JSON.stringify(text)).toEqual(want ?? 'CODEC_FORMAT');
}

const alphabet = [...'0123456789abcdefABCDEF./: -+x%\n'];
/** `text` with one character inserted, removed or replaced. */
const mutated = (text: fc.Arbitrary<string>) =>
  fc.tuple(text, fc.nat(), fc.constantFrom(...alphabet), fc.constantFrom('insert', 'remove', 'replace')).map(([t, at, ch, how]) => {
    const i = t.length === 0 ? 0 : at % (t.length + (how === 'insert' ? 1 : 0));
    if (how === 'insert') return t.slice(0, i) + ch + t.slice(i);
    if (how === 'remove') return t.slice(0, i) + t.slice(i + 1);
    return t.slice(0, i) + ch + t.slice(i + 1);
  });
const randomText = fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }).map((cs) => cs.join(''));

describe('cidrKey against a reference parser', () => {
  it('refuses the malformed prefixes that once read as /0 (matching everything), and other near misses', () => {
    for (const text of [
      '10.0.0.0/',
      '10.0.0.0/8/9',
      ' 10.0.0.0/8',
      '10.0.0.0/8 ',
      '10.0.0.0/-1',
      '10.0.0.0/+8',
      '10.0.0.0/0x8',
      '10.0.0.0/1e1',
      '10.0.0.0/33',
      '/8',
      '',
      '10.0.0/8',
    ])
      expect(actual('ipv4', text), JSON.stringify(text)).toBe('CODEC_FORMAT');
    for (const text of ['fd00::/', 'fd00::/129', 'fd00::/8/8', 'fd00:::1/8', '::ffff:1.2.3.4/96'])
      expect(actual('ipv6', text), JSON.stringify(text)).toBe('CODEC_FORMAT');
    expect(actual('ipv4', '10.0.0.0/0')).toEqual([0, 0, 0, 0, 10, 0, 0, 0]); // /0 written out is still /0
    expect(actual('ipv4', '10.1.2.3')).toEqual([32, 0, 0, 0, 10, 1, 2, 3]);
  });

  it('a non-string is CODEC_TYPE', () => {
    for (const v of [undefined, null, 8, ['10.0.0.0', 8], { toString: () => '10.0.0.0/8' }]) {
      expect(() => cidrKey('ipv4').encode(v as unknown as string, new DataView(new ArrayBuffer(8)), 0)).toThrow(
        expect.objectContaining({ code: 'CODEC_TYPE' }),
      );
    }
  });

  for (const family of ['ipv4', 'ipv6'] as const) {
    const address = family === 'ipv4' ? fc.ipV4() : fc.ipV6().filter((a) => !a.includes('.')); // (dotted IPv6 tails are not read)
    const cidr = fc.tuple(address, fc.option(fc.nat(140), { nil: undefined })).map(([a, n]) => (n === undefined ? a : `${a}/${n}`));
    it(`${family}: valid CIDRs, near misses and random text get the reference's verdict and bytes`, () => {
      fc.assert(
        fc.property(fc.oneof(cidr, mutated(cidr), randomText), (text) => agree(family, text)),
        { numRuns: 3000 },
      );
    });
  }
});
