/**
 * The built-in scalar codecs: integers (u64 as bigint), bool, floats, raw
 * bytes, C strings, IPv4/IPv6 addresses and network-order integers, with
 * the inline access their struct members are coded through.
 */
import { checkLayoutNumber, markDense, markInline, type Codec } from './codec.js';
import { CodecError } from './errors.js';

const LE = true;

function intCodec(name: string, size: 1 | 2 | 4, signed: boolean, littleEndian = LE): Codec<number> {
  const min = signed ? -(2 ** (size * 8 - 1)) : 0;
  const max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
  const check = (v: number) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new CodecError(typeof v === 'number' ? 'CODEC_RANGE' : 'CODEC_TYPE', `${name}: ${String(v)} is not an integer in [${min}, ${max}]`);
  };
  switch (size) {
    case 1:
      return signed
        ? { name, size, align: 1, decode: (v, o) => v.getInt8(o), encode: (x, v, o) => (check(x), v.setInt8(o, x)) }
        : { name, size, align: 1, decode: (v, o) => v.getUint8(o), encode: (x, v, o) => (check(x), v.setUint8(o, x)) };
    case 2:
      return signed
        ? { name, size, align: 2, decode: (v, o) => v.getInt16(o, littleEndian), encode: (x, v, o) => (check(x), v.setInt16(o, x, littleEndian)) }
        : { name, size, align: 2, decode: (v, o) => v.getUint16(o, littleEndian), encode: (x, v, o) => (check(x), v.setUint16(o, x, littleEndian)) };
    case 4:
      return signed
        ? { name, size, align: 4, decode: (v, o) => v.getInt32(o, littleEndian), encode: (x, v, o) => (check(x), v.setInt32(o, x, littleEndian)) }
        : { name, size, align: 4, decode: (v, o) => v.getUint32(o, littleEndian), encode: (x, v, o) => (check(x), v.setUint32(o, x, littleEndian)) };
  }
}

export const u8 = intCodec('u8', 1, false);
export const i8 = intCodec('i8', 1, true);
export const u16 = intCodec('u16', 2, false);
export const i16 = intCodec('i16', 2, true);
export const u32 = intCodec('u32', 4, false);
export const i32 = intCodec('i32', 4, true);
/** Network byte order (big-endian): ports, protocol fields. */
export const be16 = intCodec('be16', 2, false, false);
export const be32 = intCodec('be32', 4, false, false);

function bigCodec(name: string, signed: boolean): Codec<bigint> {
  // Comparisons, not BigInt.asUintN: no allocation on the hot path; one function per signedness, no branch on it.
  const notBigint = (x: unknown) => new CodecError('CODEC_TYPE', `${name}: ${String(x)} is not a bigint`);
  const tooBig = (x: bigint) => new CodecError('CODEC_RANGE', `${name}: ${x} does not fit in 64 bits`);
  return signed
    ? {
        name,
        size: 8,
        align: 8,
        decode: (v, o) => v.getBigInt64(o, LE),
        encode: (x, v, o) => {
          if (typeof x !== 'bigint') throw notBigint(x);
          if (x < -0x8000000000000000n || x > 0x7fffffffffffffffn) throw tooBig(x);
          v.setBigInt64(o, x, LE);
        },
      }
    : {
        name,
        size: 8,
        align: 8,
        decode: (v, o) => v.getBigUint64(o, LE),
        encode: (x, v, o) => {
          if (typeof x !== 'bigint') throw notBigint(x);
          if (x < 0n || x > 0xffffffffffffffffn) throw tooBig(x);
          v.setBigUint64(o, x, LE);
        },
      };
}

export const u64 = bigCodec('u64', false);
export const i64 = bigCodec('i64', true);

/** A 64-bit integer as a number, for values that stay within 2^53 (decoding a larger one throws). */
function int64AsNumber(signed: boolean): Codec<number> {
  const name = signed ? 'i64 (as number)' : 'u64 (as number)';
  const min = signed ? Number.MIN_SAFE_INTEGER : 0;
  return {
    name,
    size: 8,
    align: 8,
    decode: (v, o) => {
      const x = signed ? v.getBigInt64(o, LE) : v.getBigUint64(o, LE);
      if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(min))
        throw new CodecError('CODEC_RANGE', `${name}: ${x} is not a safe integer; use ${signed ? 'i64' : 'u64'}`);
      return Number(x);
    },
    encode: (x, v, o) => {
      if (!Number.isSafeInteger(x) || x < min) {
        throw new CodecError(typeof x === 'number' ? 'CODEC_RANGE' : 'CODEC_TYPE', `${name}: ${x} is not a safe${signed ? '' : ' non-negative'} integer`);
      }
      if (signed) v.setBigInt64(o, BigInt(x), LE);
      else v.setBigUint64(o, BigInt(x), LE);
    },
  };
}

/** A u64 as a number, for counters that stay below 2^53 (decoding a larger value throws). */
export const u64AsNumber = int64AsNumber(false);
/** An i64 as a number, within ±2^53. */
export const i64AsNumber = int64AsNumber(true);

export const bool: Codec<boolean> = {
  name: 'bool',
  size: 1,
  align: 1,
  decode: (v, o) => v.getUint8(o) !== 0,
  encode: (x, v, o) => {
    // Truthiness would take 'no' for true: only booleans (and the 0/1 a C bool holds).
    if (typeof x !== 'boolean' && x !== 0 && x !== 1) throw new CodecError('CODEC_TYPE', `bool: ${String(x)} is not a boolean`);
    v.setUint8(o, x ? 1 : 0);
  },
};

const checkFloat = (name: string, x: unknown): void => {
  if (typeof x !== 'number') throw new CodecError('CODEC_TYPE', `${name}: ${String(x)} is not a number`);
};
export const f32: Codec<number> = {
  name: 'f32',
  size: 4,
  align: 4,
  decode: (v, o) => v.getFloat32(o, LE),
  encode: (x, v, o) => (checkFloat('f32', x), v.setFloat32(o, x, LE)),
};
export const f64: Codec<number> = {
  name: 'f64',
  size: 8,
  align: 8,
  decode: (v, o) => v.getFloat64(o, LE),
  encode: (x, v, o) => (checkFloat('f64', x), v.setFloat64(o, x, LE)),
};

/** Raw bytes of a fixed length (copies out; shorter input is zero-padded). */
export function bytes(size: number): Codec<Uint8Array> {
  checkLayoutNumber('bytes', 'size', size);
  return {
    name: `bytes[${size}]`,
    size,
    align: 1,
    decode: (v, o) => new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + size)),
    encode: (x, v, o) => {
      if (!(x instanceof Uint8Array) || x.length > size)
        throw new CodecError(x instanceof Uint8Array ? 'CODEC_RANGE' : 'CODEC_TYPE', `bytes[${size}]: need at most ${size} bytes`);
      new Uint8Array(v.buffer, v.byteOffset + o, size).set(x);
    },
  };
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** A `char[size]` holding a NUL-terminated string (UTF-8). Encoding a string that does not fit with its NUL throws. */
export function cstring(size: number): Codec<string> {
  checkLayoutNumber('cstring', 'size', size);
  return {
    name: `char[${size}]`,
    size,
    align: 1,
    decode: (v, o) => {
      const b = new Uint8Array(v.buffer, v.byteOffset + o, size);
      const end = b.indexOf(0);
      return utf8.decode(b.subarray(0, end < 0 ? size : end));
    },
    encode: (x, v, o) => {
      const b = utf8Encoder.encode(String(x));
      if (b.length >= size) throw new CodecError('CODEC_RANGE', `char[${size}]: ${JSON.stringify(x)} needs ${b.length + 1} bytes with its NUL`);
      const dst = new Uint8Array(v.buffer, v.byteOffset + o, size);
      dst.fill(0);
      dst.set(b);
    },
  };
}

/** An IPv4 address in network byte order, as "10.0.0.1". */
export const ipv4: Codec<string> = {
  name: 'ipv4',
  size: 4,
  align: 4,
  decode: (v, o) => `${v.getUint8(o)}.${v.getUint8(o + 1)}.${v.getUint8(o + 2)}.${v.getUint8(o + 3)}`,
  encode: (x, v, o) => new Uint8Array(v.buffer, v.byteOffset + o, 4).set(parseIpv4(String(x))),
};

/** Dotted-quad text ("10.0.0.1": four decimal numbers of 1 to 3 digits, each at most 255) as its 4 bytes; CODEC_FORMAT otherwise. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new CodecError('CODEC_FORMAT', `ipv4: ${JSON.stringify(text)} is not an IPv4 address`);
  return new Uint8Array(parts.map(Number));
}

/** An IPv6 address in network byte order, as its canonical text ("fd00::1"). */
export const ipv6: Codec<string> = {
  name: 'ipv6',
  size: 16,
  align: 4,
  decode: (v, o) => formatIpv6(new Uint8Array(v.buffer, v.byteOffset + o, 16)),
  encode: (x, v, o) => new Uint8Array(v.buffer, v.byteOffset + o, 16).set(parseIpv6(String(x))),
};

export function parseIpv6(text: string): Uint8Array {
  const bad = () => new CodecError('CODEC_FORMAT', `ipv6: ${JSON.stringify(text)} is not an IPv6 address`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const group = (s: string) => (s === '' ? [] : s.split(':'));
  const head = group(halves[0]!);
  const tail = halves.length === 2 ? group(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  // Without "::" all eight groups; with it, at least one group is its (RFC 4291: "::" stands for one or more).
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw bad();
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

export function formatIpv6(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (b[i * 2]! << 8) | b[i * 2 + 1]!);
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

// Each writes all of its bytes.
for (const c of [u8, i8, u16, i16, u32, i32, be16, be32, u64, i64, u64AsNumber, i64AsNumber, bool, f32, f64] as Codec<unknown>[]) markDense(c);

// The same reads and writes as their decode and encode, written into generated struct coders.
// `accepts` is exactly encode's own check; values it refuses go to encode (for its error).
const access: [Codec<unknown>, string, boolean | undefined, (m: string) => string][] = [
  [u8, 'Uint8', undefined, (m) => `(${m} & 0xff) === ${m}`],
  [i8, 'Int8', undefined, (m) => `(${m} << 24 >> 24) === ${m}`],
  [u16, 'Uint16', LE, (m) => `(${m} & 0xffff) === ${m}`],
  [i16, 'Int16', LE, (m) => `(${m} << 16 >> 16) === ${m}`],
  [u32, 'Uint32', LE, (m) => `(${m} >>> 0) === ${m}`],
  [i32, 'Int32', LE, (m) => `(${m} | 0) === ${m}`],
  [be16, 'Uint16', false, (m) => `(${m} & 0xffff) === ${m}`],
  [be32, 'Uint32', false, (m) => `(${m} >>> 0) === ${m}`],
  [f32, 'Float32', LE, () => 'true'],
  [f64, 'Float64', LE, () => 'true'],
];
for (const [codec, type, littleEndian, inRange] of access) {
  const order = littleEndian === undefined ? '' : `, ${littleEndian}`;
  markInline(codec, {
    read: (view, offset) => `${view}.get${type}(${offset}${order})`,
    accepts: (m) => `(typeof ${m} === 'number' && ${inRange(m)})`,
    write: (view, offset, m) => `${view}.set${type}(${offset}, ${m}${order});`,
  });
}
markInline(u64, {
  read: (view, offset) => `${view}.getBigUint64(${offset}, true)`,
  accepts: (m) => `(typeof ${m} === 'bigint' && BigInt.asUintN(64, ${m}) === ${m})`,
  write: (view, offset, m) => `${view}.setBigUint64(${offset}, ${m}, true);`,
  word: 'unsigned',
});
markInline(i64, {
  read: (view, offset) => `${view}.getBigInt64(${offset}, true)`,
  accepts: (m) => `(typeof ${m} === 'bigint' && BigInt.asIntN(64, ${m}) === ${m})`,
  write: (view, offset, m) => `${view}.setBigInt64(${offset}, ${m}, true);`,
  word: 'signed',
});
// Two u32 halves, no BigInt: a high half above 0x1fffff (2^53 and up) goes to decode, which throws CODEC_RANGE.
markInline(u64AsNumber, {
  read: (view, offset, fallback) =>
    `(${view}.getUint32(${offset} + 4, true) <= 0x1fffff ? ${view}.getUint32(${offset} + 4, true) * 4294967296 + ${view}.getUint32(${offset}, true) : ${fallback})`,
  accepts: (m) => `(Number.isSafeInteger(${m}) && ${m} >= 0)`,
  write: (view, offset, m) => `${view}.setUint32(${offset}, ${m} % 4294967296, true); ${view}.setUint32(${offset} + 4, Math.floor(${m} / 4294967296), true);`,
});
// Signed: the high half as an int32; within ±0x1fffff the value is safe, the rest goes to decode (safe or CODEC_RANGE).
markInline(i64AsNumber, {
  read: (view, offset, fallback) =>
    `((${view}.getInt32(${offset} + 4, true) + 0x1fffff) >>> 0 <= 0x3ffffe ? ${view}.getInt32(${offset} + 4, true) * 4294967296 + ${view}.getUint32(${offset}, true) : ${fallback})`,
  accepts: (m) => `Number.isSafeInteger(${m})`,
  write: (view, offset, m) => `${view}.setUint32(${offset}, ${m} % 4294967296, true); ${view}.setInt32(${offset} + 4, Math.floor(${m} / 4294967296), true);`,
});
markInline(bool, {
  read: (view, offset) => `(${view}.getUint8(${offset}) !== 0)`,
  accepts: (m) => `(${m} === true || ${m} === false)`,
  write: (view, offset, m) => `${view}.setUint8(${offset}, ${m} ? 1 : 0);`,
});
