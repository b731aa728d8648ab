/**
 * Reading and writing the fields of a generated kernel layout
 * (layouts.generated.ts) in a DataView, at each field's own width: the one
 * place that turns a layout into bytes, so no caller writes an offset.
 */
import { LoaderError } from '../errors.js';
import type { Field } from './layouts.generated.js';

/** The kernel's structs are host-endian; every host tsbpf supports is little-endian. */
const LE = true;

/** Writes an integer into `f` at its width (8-byte fields take bigints or numbers). */
export function setField(view: DataView, f: Field, value: number | bigint): void {
  if (f.bits !== undefined) {
    // A bit-field: rewrite only its bits of the storage unit (LE: the unit's bit 0 is in its first byte).
    let unit = 0n;
    for (let i = f.size - 1; i >= 0; i--) unit = (unit << 8n) | BigInt(view.getUint8(f.offset + i));
    const mask = ((1n << BigInt(f.bits)) - 1n) << BigInt(f.bit ?? 0);
    unit = (unit & ~mask) | ((BigInt(value) << BigInt(f.bit ?? 0)) & mask);
    for (let i = 0; i < f.size; i++) view.setUint8(f.offset + i, Number((unit >> BigInt(8 * i)) & 0xffn));
    return;
  }
  switch (f.size) {
    case 8:
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
        // An address or a count as a number: two words, no bigint made.
        view.setUint32(f.offset, value >>> 0, LE);
        view.setUint32(f.offset + 4, Math.floor(value / 0x100000000), LE);
        return;
      }
      view.setBigUint64(f.offset, BigInt.asUintN(64, BigInt(value)), LE);
      return;
    case 4:
      view.setUint32(f.offset, Number(value), LE);
      return;
    case 2:
      view.setUint16(f.offset, Number(value), LE);
      return;
    case 1:
      view.setUint8(f.offset, Number(value));
      return;
    default:
      throw new LoaderError('INTERNAL', `a ${f.size}-byte field at offset ${f.offset} is not an integer`);
  }
}

/** The unsigned integer in `f` (an 8-byte one as a number: exact below 2^53). */
export function getField(view: DataView, f: Field): number {
  switch (f.size) {
    case 8:
      return Number(view.getBigUint64(f.offset, LE));
    case 4:
      return view.getUint32(f.offset, LE);
    case 2:
      return view.getUint16(f.offset, LE);
    case 1:
      return view.getUint8(f.offset);
    default:
      throw new LoaderError('INTERNAL', `a ${f.size}-byte field at offset ${f.offset} is not an integer`);
  }
}

const utf8 = new TextEncoder();

/** Writes a name into a char array field, NUL-padded (at most size - 1 bytes: the kernel wants the NUL). */
export function setName(bytes: Uint8Array, f: Field, name: string | undefined): void {
  bytes.fill(0, f.offset, f.offset + f.size);
  if (!name) return;
  const n = Math.min(name.length, f.size - 1);
  let ascii = true;
  for (let i = 0; i < n; i++) if (name.charCodeAt(i) > 0x7f) ascii = false;
  if (!ascii) {
    bytes.set(utf8.encode(name).subarray(0, f.size - 1), f.offset);
    return;
  }
  // ASCII (a C identifier, as names are): its characters are its bytes.
  for (let i = 0; i < n; i++) bytes[f.offset + i] = name.charCodeAt(i);
}

/** The NUL-terminated name in a char array field (bpf_map_info.name, bpf_prog_info.name). */
export function getName(bytes: Uint8Array, f: Field): string {
  const field = bytes.subarray(f.offset, f.offset + f.size);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/** offsetofend of a layout's last field: the bytes a reader of these fields needs. */
export function layoutEnd(layout: Readonly<Record<string, Field>>): number {
  let end = 0;
  for (const f of Object.values(layout)) end = Math.max(end, f.offset + f.size);
  return end;
}
