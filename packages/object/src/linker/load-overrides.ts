/**
 * Load-time changes to a spec, as a libbpf skeleton makes them before load:
 * values written into `.rodata` copies for `const volatile` globals, and
 * per-map definition overrides. Pure: a new spec, the old one untouched.
 */
import { LinkError, type ByteOrder } from '../errors.js';
import type { CollectionSpec, MapSpec } from '../spec.js';

/** A constant's value: a number or bigint (an integer of the variable's size), a boolean, or the exact bytes. */
export type ConstantValue = number | bigint | boolean | Uint8Array;

export interface LoadOverrides {
  /**
   * Values for `const volatile` globals (`.rodata*`), set before the map is
   * created and frozen (libbpf skeleton style): a number or bigint (stored in
   * the object's byte order, in the variable's size), a boolean, or the exact
   * bytes.
   */
  constants?: Readonly<Record<string, ConstantValue>>;
  /** Per-map changes before creation, e.g. `{ flows: { maxEntries: 65536 } }`. */
  mapOverrides?: Readonly<Record<string, { maxEntries?: number; flags?: number }>>;
}

/** The spec's maps with constants written into `.rodata` copies and overrides applied (the spec itself untouched). */
export function withLoadOverrides(spec: CollectionSpec, overrides: LoadOverrides): CollectionSpec {
  // No overrides (a plain load): the spec as it is, with no arrays made to find that out.
  if (!hasOwnKeys(overrides.constants) && !hasOwnKeys(overrides.mapOverrides)) return spec;
  const constants = Object.entries(overrides.constants ?? {});
  const mapOverrides = overrides.mapOverrides ?? {};
  for (const name of Object.keys(mapOverrides)) {
    if (!Object.hasOwn(spec.maps, name)) throw new LinkError('MAP_OVERRIDE_INVALID', `mapOverrides: no map named ${name}`);
  }
  const maps: Record<string, MapSpec> = Object.setPrototypeOf({}, null); // fast properties (see collection-spec.ts's nullRecord)
  for (const [name, m] of Object.entries(spec.maps)) maps[name] = { ...m, ...mapOverrides[name] };
  for (const [name, value] of constants) {
    const holder = Object.values(maps).find((m) => m.kind === 'rodata' && m.variables.some((v) => v.name === name));
    if (!holder) throw new LinkError('CONSTANT_INVALID', `constants: no const volatile global named ${name} in .rodata`);
    const v = holder.variables.find((x) => x.name === name)!;
    const initial = holder.initialValue ? holder.initialValue.slice() : new Uint8Array(holder.valueSize);
    initial.set(encodeConstant(name, value, v.size, spec.byteOrder), v.offset);
    maps[holder.name] = { ...holder, initialValue: initial };
  }
  return { ...spec, maps };
}

/** Whether `record` has an own enumerable string key (what Object.keys and Object.entries list). */
function hasOwnKeys(record: object | undefined): boolean {
  if (record === undefined || record === null) return false;
  for (const key in record) if (Object.prototype.propertyIsEnumerable.call(record, key)) return true;
  return false;
}

/** A constant's bytes: an integer in `size` bytes (signed or unsigned, it must fit), a boolean as 0/1, or bytes of exactly that size. */
export function encodeConstant(name: string, value: ConstantValue, size: number, byteOrder: ByteOrder): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new LinkError('CONSTANT_INVALID', `constants: ${name} is ${size} bytes, got ${value.length}`);
    return value;
  }
  if (typeof value === 'number' ? !Number.isInteger(value) : typeof value !== 'bigint' && typeof value !== 'boolean') {
    throw new LinkError('CONSTANT_INVALID', `constants: ${name}: ${String(value)} is not an integer, a boolean or bytes`);
  }
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  if (![1, 2, 4, 8].includes(size)) throw new LinkError('CONSTANT_INVALID', `constants: ${name} is ${size} bytes; give its bytes`);
  const bits = size * 8;
  if (BigInt.asIntN(bits, n) !== n && BigInt.asUintN(bits, n) !== n)
    throw new LinkError('CONSTANT_INVALID', `constants: ${value} does not fit ${name} (${size} bytes)`);
  const out = new Uint8Array(size);
  const u = BigInt.asUintN(bits, n);
  for (let i = 0; i < size; i++) out[byteOrder === 'little' ? i : size - 1 - i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}
