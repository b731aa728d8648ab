/**
 * Checks of the numbers given to the loader's public functions (sizes,
 * counts, batch sizes, timeouts, ids, flags, indexes): each must be an
 * integer in the range its kernel field holds, or a LoaderError
 * INVALID_ARGUMENT names it. A DataView write would otherwise wrap it
 * silently (2^32 + 1 as 1, -1 as 2^32 - 1, NaN and 0.5 as 0), and a
 * count of 0 or NaN can make a loop that waits for progress spin for ever.
 */
import { LoaderError } from './errors.js';
import type { MapOptions } from './map.js';

export const U32_MAX = 0xffffffff;
/** The largest value an `int` (an fd, a timeout, a pid) holds. */
export const INT_MAX = 0x7fffffff;

/** A value for a message: never throws (a symbol, an object whose toString throws). */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** `value` as an integer in [min, max]; INVALID_ARGUMENT (with `context`) otherwise. */
export function checkInteger(value: unknown, what: string, min: number, max: number, context?: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  const e = new LoaderError('INVALID_ARGUMENT', `${what} must be an integer in [${min}, ${max}], not ${describeValue(value)}`);
  throw context ? e.addContext(context) : e;
}

/** An unsigned 32-bit field (a size, a count, a type, an id, flags). */
export function checkU32(value: unknown, what: string, context?: string): number {
  return checkInteger(value, what, 0, U32_MAX, context);
}

/** Like checkU32 for an optional value: undefined stays undefined. */
export function checkOptionalU32(value: unknown, what: string, context?: string): number | undefined {
  return value === undefined ? undefined : checkU32(value, what, context);
}

/** A count of at least 1 (a batch size: 0 would fetch nothing, for ever). */
export function checkPositiveU32(value: unknown, what: string, context?: string): number {
  return checkInteger(value, what, 1, U32_MAX, context);
}

/** An optional `max`: undefined or Infinity for no bound, else an integer of at least 0. */
export function checkMax(value: unknown, what: string, context?: string): number {
  if (value === undefined || value === Infinity) return Infinity;
  return checkInteger(value, what, 0, Number.MAX_SAFE_INTEGER, context);
}

/** A timeout in milliseconds for a wait: 0 to INT_MAX (a negative one would wait for ever). */
export function checkTimeout(value: unknown, what: string, context?: string): number {
  return checkInteger(value, what, 0, INT_MAX, context);
}

/** Flags as a bigint in [0, 2^bits - 1] (a number is taken if it is such an integer). */
export function checkFlags(value: unknown, what: string, bits: 32 | 64, context?: string): bigint {
  const limit = (1n << BigInt(bits)) - 1n;
  if (typeof value === 'bigint' && value >= 0n && value <= limit) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && BigInt(value) <= limit) return BigInt(value);
  const e = new LoaderError('INVALID_ARGUMENT', `${what} must be an integer in [0, ${limit}], not ${describeValue(value)}`);
  throw context ? e.addContext(context) : e;
}

/** A callback argument: a function, or INVALID_ARGUMENT (rather than a TypeError where it is first called). */
export function checkFunction(value: unknown, what: string, context?: string): void {
  if (typeof value === 'function') return;
  const e = new LoaderError('INVALID_ARGUMENT', `${what} must be a function, not ${describeValue(value)}`);
  throw context ? e.addContext(context) : e;
}

/** BPF_ANY & co. for the element commands, whose attr takes the low 32 bits: a bigint (or number) in [0, 2^32 - 1]. */
export function elemFlags(flags: unknown, context: string): number {
  // BPF_ANY, NOEXIST, EXIST by comparison first: Number() of a bigint is a call into V8's runtime (~10 ns an update).
  if (flags === 0n) return 0;
  if (flags === 1n) return 1;
  if (flags === 2n) return 2;
  const f = typeof flags === 'bigint' || typeof flags === 'number' ? Number(flags) : NaN;
  if (f >= 0 && f <= U32_MAX && Number.isInteger(f)) return f;
  return Number(checkFlags(flags, 'flags', 32, context)); // throws INVALID_ARGUMENT
}

/** BpfMap.create's options: the kernel's u32 fields, fds, and map_extra (u64). */
export function checkMapOptions(o: MapOptions): void {
  const context = `map ${o.name || '(unnamed)'}`;
  for (const f of ['type', 'keySize', 'valueSize', 'maxEntries'] as const) checkU32(o[f], f, context);
  for (const f of ['flags', 'numaNode', 'btfKeyTypeId', 'btfValueTypeId', 'btfVmlinuxValueTypeId'] as const) checkOptionalU32(o[f], f, context);
  for (const f of ['innerMapFd', 'btfFd'] as const) if (o[f] !== undefined) checkInteger(o[f], f, 0, INT_MAX, context);
  if (o.mapExtra !== undefined) checkFlags(o.mapExtra, 'mapExtra', 64, context);
}
