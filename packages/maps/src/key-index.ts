/**
 * The key index of getMany's batch walk: where each wanted key sits in the
 * caller's list, found by the identity of its encoded bytes while the walk
 * reads the map's keys batch by batch.
 */
import type { Codec } from './codec.js';
import { u32 } from './primitives.js';

/** Positions of keys by identity (see keyIdentity): add() is false for a key already there, get() -1 for one absent. */
export interface KeyIndex {
  readonly size: number;
  add(id: number | string, position: number): boolean;
  get(id: number | string): number;
}

/**
 * The index of the keys whose identities (see keyIdentity) are `ids`, in
 * the caller's order: for keys of up to 4 bytes a table indexed by the
 * identity itself when the identities are dense (the largest below four
 * times their count: no more memory than the hash table, one read a
 * probe), the hash table otherwise; a Map for longer keys. The positions
 * of identities seen before go to `repeats`.
 */
export function indexKeys(keySize: number, ids: ArrayLike<number | string>, repeats: number[]): KeyIndex {
  const n = ids.length;
  if (keySize > 4) {
    const index = new MapKeyIndex();
    for (let i = 0; i < n; i++) if (!index.add(ids[i]!, i)) repeats.push(i);
    return index;
  }
  const small = ids as ArrayLike<number>;
  let max = 0;
  for (let i = 0; i < n; i++) if (small[i]! > max) max = small[i]!;
  if (max < DENSE * n) {
    const index = new DirectKeyIndex(max + 1);
    for (let i = 0; i < n; i++) if (!index.add(small[i]!, i)) repeats.push(i);
    return index;
  }
  const index = new SmallKeyIndex(n);
  for (let i = 0; i < n; i++) if (!index.add(small[i]!, i)) repeats.push(i);
  return index;
}

/** Identities below this many times their count take the direct table (4 bytes an identity up to the largest: at most the hash table's 16 a key). */
const DENSE = 4;

/**
 * A key's encoded bytes as a Map key: a number for keys of up to 6 bytes
 * (the common u32 keys cost one read), a string of the bytes otherwise.
 * Numbers and strings never collide as Map keys.
 */
export function keyIdentity(view: DataView, offset: number, size: number): number | string {
  switch (size) {
    case 4:
      return view.getUint32(offset, true);
    case 8: {
      const lo = view.getUint32(offset, true);
      const hi = view.getUint32(offset + 4, true);
      return hi < 0x200000 ? hi * 0x100000000 + lo : `${hi}:${lo}`;
    }
  }
  if (size <= 6) {
    let n = 0;
    for (let i = size - 1; i >= 0; i--) n = n * 256 + view.getUint8(offset + i);
    return n;
  }
  let s = '';
  for (let i = 0; i < size; i++) s += String.fromCharCode(view.getUint8(offset + i));
  return s;
}

/**
 * For key codecs whose identity (see keyIdentity) is the key itself: the
 * identity of a key straight from its value, without encoding it, or -1
 * when the codec would not take the value as it is (encode it then, for the
 * codec's own error). Undefined for other codecs. A u32 key's four
 * little-endian bytes read back as that same number.
 */
export function directIdentity<K>(codec: Codec<K>): ((key: K) => number) | undefined {
  if ((codec as Codec<unknown>) === u32) return (key) => (typeof key === 'number' && key >>> 0 === key ? key : -1);
  return undefined;
}

class MapKeyIndex implements KeyIndex {
  private readonly map = new Map<number | string, number>();
  get size(): number {
    return this.map.size;
  }
  add(id: number | string, position: number): boolean {
    if (this.map.has(id)) return false;
    this.map.set(id, position);
    return true;
  }
  get(id: number | string): number {
    return this.map.get(id) ?? -1;
  }
}

/**
 * For dense keys of up to 4 bytes: position + 1 at the identity's own
 * slot (0: not asked for). A probe is one read of a table a quarter the
 * size of SmallKeyIndex's two, with no hashing.
 */
class DirectKeyIndex implements KeyIndex {
  private readonly positions: Int32Array;
  size = 0;

  constructor(length: number) {
    this.positions = new Int32Array(length);
  }

  add(id: number | string, position: number): boolean {
    const slot = id as number;
    if (this.positions[slot] !== 0) return false;
    this.positions[slot] = position + 1;
    this.size++;
    return true;
  }

  get(id: number | string): number {
    const slot = id as number;
    return slot < this.positions.length ? this.positions[slot]! - 1 : -1;
  }
}

/**
 * For keys of up to 4 bytes (identities below 2^32): an open-addressing
 * table in two typed arrays. A JS Map of 65,536 numbers cost ~130 ns an
 * insertion and ~150 ns a lookup here (its entries are scattered objects
 * the walk's own allocations push out of the caches); this table, a few ns.
 */
class SmallKeyIndex implements KeyIndex {
  private readonly ids: Uint32Array;
  /** position + 1; 0 is an empty slot. */
  private readonly positions: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  size = 0;

  constructor(expected: number) {
    const bits = Math.max(4, 32 - Math.clz32(expected * 2 - 1)); // at most half full
    this.ids = new Uint32Array(1 << bits);
    this.positions = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private slot(id: number): number {
    let slot = Math.imul(id, 0x9e3779b1) >>> this.shift; // Fibonacci hashing: spreads sequential ids
    while (this.positions[slot] !== 0 && this.ids[slot] !== id) slot = (slot + 1) & this.mask;
    return slot;
  }

  add(id: number | string, position: number): boolean {
    const slot = this.slot(id as number);
    if (this.positions[slot] !== 0) return false;
    this.ids[slot] = id as number;
    this.positions[slot] = position + 1;
    this.size++;
    return true;
  }

  get(id: number | string): number {
    return this.positions[this.slot(id as number)]! - 1;
  }
}
