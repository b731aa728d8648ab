/**
 * Port ranges as aligned power-of-two blocks: how an `endPort` range becomes
 * a handful of prefix entries (at most 30 for any range of 16-bit ports)
 * instead of one entry per port. The datapath matches a block with its LPM
 * trie `port_ranges`, as Cilium matches port ranges with its LPM policy map.
 */
import { PolicyError } from './errors.js';

/** `bits` leading bits of `port` fixed: the 2^(16 - bits) ports from `port` on (`port` aligned to that size). */
export interface PortBlock {
  readonly port: number;
  readonly bits: number;
}

/** The fewest aligned blocks that cover `first`..`last` (inclusive, 0..65535) exactly. */
export function portBlocks(first: number, last: number): PortBlock[] {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 65535 || first > last) {
    throw new PolicyError('POLICY_INVALID', `not a port range: ${first}..${last}`);
  }
  const out: PortBlock[] = [];
  let port = first;
  while (port <= last) {
    // The largest block aligned at `port` (a power of two dividing it), shrunk until it fits.
    let size = port === 0 ? 65536 : port & -port;
    while (port + size - 1 > last) size /= 2;
    out.push({ port, bits: 16 - Math.log2(size) });
    port += size;
  }
  return out;
}

/** Whether `port` lies in the block. */
export const inBlock = (b: PortBlock, port: number) => port >>> (16 - b.bits) === b.port >>> (16 - b.bits);
