/** IPv4 prefixes as numbers: what the map compiler needs to place ipBlocks. */
import { PolicyError } from './errors.js';

export interface Prefix {
  /** Network address, host bits cleared, as an unsigned 32-bit number. */
  readonly addr: number;
  readonly len: number;
}

/** A dotted quad as an unsigned 32-bit number, or undefined; leading zeros are refused, as Go's net package does. */
export function tryParseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

export function parseIpv4(text: string): number {
  const n = tryParseIpv4(text);
  if (n === undefined) throw new PolicyError('ADDRESS_INVALID', `${JSON.stringify(text)} is not an IPv4 address`);
  return n;
}

export const formatIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** `a.b.c.d/len` with host bits cleared (Kubernetes accepts them set), or undefined. */
export function tryParsePrefix(text: string): Prefix | undefined {
  const m = /^([0-9.]+)\/(0|[1-9][0-9]?)$/.exec(text);
  const addr = m ? tryParseIpv4(m[1]!) : undefined;
  const len = Number(m?.[2]);
  if (addr === undefined || len > 32) return undefined;
  return { addr: (addr & mask(len)) >>> 0, len };
}

export function parsePrefix(text: string): Prefix {
  const p = tryParsePrefix(text);
  if (!p) throw new PolicyError('ADDRESS_INVALID', `${JSON.stringify(text)} is not an IPv4 CIDR`);
  return p;
}

/** How many addresses the prefix holds. */
export const prefixSize = (p: Prefix) => 2 ** (32 - p.len);

export const formatPrefix = (p: Prefix) => `${formatIpv4(p.addr)}/${p.len}`;

/** `inner` lies inside `outer` (or is it). */
export const prefixWithin = (inner: Prefix, outer: Prefix) => inner.len >= outer.len && (inner.addr & mask(outer.len)) >>> 0 === outer.addr;

export const addressIn = (ip: number, p: Prefix) => (ip & mask(p.len)) >>> 0 === p.addr;

/** The longest prefix of `set` containing `ip`, as an LPM trie answers. */
export function longestMatch(set: readonly Prefix[], ip: number): Prefix | undefined {
  let best: Prefix | undefined;
  for (const p of set) if (addressIn(ip, p) && (!best || p.len > best.len)) best = p;
  return best;
}
