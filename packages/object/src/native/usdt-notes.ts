/**
 * The USDT probes of an executable or shared library: its `.note.stapsdt`
 * notes (what `<sys/sdt.h>` emits), with the probe address adjusted by
 * `.stapsdt.base` and the probe and semaphore addresses turned into the file
 * offsets a uprobe and its `ref_ctr_offset` take.
 */
import { ObjectParseError } from '../errors.js';
import { addressToFileOffset, cString, parseElfImage, SHT_NOTE, type ElfImage } from './elf-image.js';

export interface UsdtNote {
  readonly provider: string;
  readonly name: string;
  /** The argument specs, as the note spells them (`-4@%eax 8@-8(%rbp)`). */
  readonly args: string;
  /** The probe's virtual address in the file (after the `.stapsdt.base` adjustment). */
  readonly address: number;
  /** Where the uprobe goes: the probe's offset in the file. */
  readonly fileOffset: number;
  /** The semaphore's virtual address, 0 when the probe has none. */
  readonly semaphoreAddress: number;
  /** The semaphore's offset in the file (`ref_ctr_offset`), 0 when the probe has none. */
  readonly semaphoreOffset: number;
}

export interface UsdtProbes {
  /** ET_EXEC 2 or ET_DYN 3 (see ElfImage). */
  readonly elfType: number;
  /** e_machine, for the argument syntax: EM_X86_64 62, EM_AARCH64 183, EM_S390 22, EM_RISCV 243. */
  readonly machine: number;
  readonly notes: readonly UsdtNote[];
}

const NT_STAPSDT = 3;

/** Every USDT probe of the file (none: an empty list). */
export function parseUsdtNotes(bytes: Uint8Array): UsdtProbes {
  const image = parseElfImage(bytes);
  return { elfType: image.type, machine: image.machine, notes: usdtNotes(image) };
}

/** The USDT probes of an image already read. */
export function usdtNotes(image: ElfImage): UsdtNote[] {
  const section = image.sections.find((s) => s.name === '.note.stapsdt');
  if (!section) return [];
  if (section.type !== SHT_NOTE) throw bad(0, `is not a note section (type ${section.type})`);
  const base = image.sections.find((s) => s.name === '.stapsdt.base')?.addr;
  const data = image.sectionData(section);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const notes: UsdtNote[] = [];
  const align4 = (n: number) => Math.ceil(n / 4) * 4; // no 32-bit bit operations: sizes go up to 2^32 - 1
  for (let at = 0; at + 12 <= data.length;) {
    const namesz = v.getUint32(at, true);
    const descsz = v.getUint32(at + 4, true);
    const type = v.getUint32(at + 8, true);
    const nameAt = at + 12;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (descAt + descsz > data.length) throw bad(at, `a note of ${namesz}+${descsz} bytes runs past the section's end`);
    if (type === NT_STAPSDT && cString(data, nameAt, nameAt + namesz) === 'stapsdt') notes.push(note(image, data, v, descAt, descsz, base));
    at = next;
  }
  return notes;
}

function note(image: ElfImage, data: Uint8Array, v: DataView, at: number, size: number, base: number | undefined): UsdtNote {
  if (size < 24 + 3) throw bad(at, `a stapsdt note of ${size} bytes is too short`);
  const u64 = (p: number) => {
    const n = v.getBigUint64(p, true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(p, `address 0x${n.toString(16)} is past 2^53`);
    return Number(n);
  };
  const pc = u64(at);
  const noteBase = u64(at + 8);
  const semaphoreAddress = u64(at + 16);
  const end = at + size;
  const strings: string[] = [];
  let p = at + 24;
  for (let i = 0; i < 3; i++) {
    const s = cString(data, p, end);
    if (p + s.length >= end && i < 2) throw bad(at, 'a stapsdt note lacks its provider, name or arguments');
    strings.push(s);
    p += utf8Length(s) + 1;
  }
  const [provider, name, args] = strings as [string, string, string];
  // Prelinked files moved: the note's base says where .stapsdt.base was when the note was written.
  const address = base !== undefined && noteBase !== 0 ? pc + (base - noteBase) : pc;
  const fileOffset = addressToFileOffset(image, address);
  if (fileOffset === undefined) throw bad(at, `probe ${provider}:${name} at 0x${address.toString(16)} is in no loadable segment`);
  let semaphoreOffset = 0;
  if (semaphoreAddress !== 0) {
    const off = addressToFileOffset(image, semaphoreAddress);
    if (off === undefined) throw bad(at, `the semaphore of ${provider}:${name} at 0x${semaphoreAddress.toString(16)} is in no loadable segment`);
    semaphoreOffset = off;
  }
  return { provider, name, args, address, fileOffset, semaphoreAddress, semaphoreOffset };
}

/** UTF-8 length without node:buffer (this package imports no node module). */
function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

function bad(offset: number, why: string): ObjectParseError {
  return new ObjectParseError('SECTION_INVALID', why, { section: '.note.stapsdt', offset });
}
