/** IPv4 prefixes as numbers: what the map compiler needs to place ipBlocks. */
export interface Prefix {
  /** Network address, host bits cleared, as an unsigned 32-bit number. */
  readonly addr: number;
  readonly len: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`${JSON.stringify(text)} is not an IPv4 address`);
  }
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

export const formatIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** `a.b.c.d/len`, host bits cleared (Kubernetes accepts them set). */
export function parsePrefix(text: string): Prefix {
  const [addr, len, extra] = text.split('/');
  const n = Number(len);
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len) || n > 32) throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR`);
  return { addr: (parseIpv4(addr!) & mask(n)) >>> 0, len: n };
}

export const formatPrefix = (p: Prefix) => `${formatIpv4(p.addr)}/${p.len}`;

/** `inner` lies inside `outer` (or is it). */
export const prefixWithin = (inner: Prefix, outer: Prefix) => inner.len >= outer.len && ((inner.addr & mask(outer.len)) >>> 0) === outer.addr;

export const addressIn = (ip: number, p: Prefix) => ((ip & mask(p.len)) >>> 0) === p.addr;

/** The longest prefix of `set` containing `ip`, as an LPM trie answers. */
export function longestMatch(set: readonly Prefix[], ip: number): Prefix | undefined {
  let best: Prefix | undefined;
  for (const p of set) if (addressIn(ip, p) && (!best || p.len > best.len)) best = p;
  return best;
}
