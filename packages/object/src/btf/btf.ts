/** Btf: a parsed BTF blob, its types looked up by id and name, resolved, sized and aligned. */
import { cString, plainBytes } from '../bytes.js';
import { ObjectParseError, type ByteOrder } from '../errors.js';
import { decodeType } from './decode.js';
import { indexTypes, kindOf, readHeader, typeWords, type BtfHeader } from './layout.js';
import { BtfAnswers } from './answers.js';
import { BtfKind, type BtfKindName, type BtfMember, type BtfType, type BtfTypeOf } from './types.js';

export interface BtfParseOptions {
  /** Base BTF for split BTF (kernel modules): ids and strings continue after the base's. */
  base?: Btf;
  /**
   * The bytes are read-only memory that stays valid while the Btf lives (the
   * loader's mapping of `/sys/kernel/btf/vmlinux`, as libbpf 1.6 maps it):
   * the Btf reads them in place and never hands them out, so `raw` is a
   * copy, made on first ask (a write into a read-only mapping would kill the
   * process).
   */
  readOnly?: boolean;
}

const VOID: BtfType = Object.freeze({ kind: 'void', id: 0, name: '' });
const encoder = new TextEncoder();

/**
 * BTF type information, ID-indexed. Parsing only indexes the blob (where each
 * type starts, plus validation); types are decoded to plain objects on first
 * use and cached, so the kernel's 5.5 MB BTF parses in a few milliseconds
 * while `type(id)` stays cheap. The raw bytes are kept for loading into the
 * kernel.
 */
export class Btf {
  /** The bytes parsed; handed out as `raw` unless they are read-only. */
  private readonly bytes: Uint8Array;
  private readonly readOnly: boolean;
  private rawCopy: Uint8Array | undefined;
  readonly byteOrder: ByteOrder;
  readonly header: BtfHeader;
  readonly base: Btf | undefined;
  /** The first id this blob defines: 1, or the base's type count for split BTF. */
  readonly firstTypeId: number;
  private readonly words: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly strings: Uint8Array;
  /** Where this blob's string offsets start (the base's string length for split BTF). */
  private readonly strStart: number;
  /** Decoded types by index; a Map because a 126k-slot array costs 0.5 ms to allocate. */
  private cache: Map<number, BtfType> | undefined;
  /** Strings read by string(), by offset. */
  private names: Map<number, string> | undefined;
  /** resolve, sizeof, alignof and typeName, remembered; made on first use (a small object's parse asks few). */
  private answersMemo: BtfAnswers | undefined;
  private get answers(): BtfAnswers {
    return (this.answersMemo ??= new BtfAnswers(this));
  }
  /** string() and readString() as functions for decodeType; these, the caches and the answers are made on first use. */
  private strFn: ((offset: number) => string) | undefined;
  private freshStrFn: ((offset: number) => string) | undefined;

  private constructor(bytes: Uint8Array, options: BtfParseOptions) {
    const header = readHeader(bytes);
    const base = options.base;
    if (base && base.byteOrder !== header.byteOrder) {
      throw new ObjectParseError('BTF_INVALID', 'split BTF and its base differ in byte order');
    }
    const strBegin = header.hdrLen + header.strOff;
    const strings = bytes.subarray(strBegin, strBegin + header.strLen);
    if (!base && (strings.length === 0 || strings[0] !== 0)) {
      throw new ObjectParseError('BTF_INVALID', 'string section must start with an empty string', { offset: strBegin });
    }
    if (strings.length > 0 && strings[strings.length - 1] !== 0) {
      throw new ObjectParseError('BTF_INVALID', 'string section is not NUL-terminated', { offset: strBegin });
    }
    this.bytes = bytes;
    this.readOnly = options.readOnly === true;
    this.header = header;
    this.byteOrder = header.byteOrder;
    this.base = base;
    this.firstTypeId = base ? base.length : 1;
    this.strStart = base ? base.stringsEnd : 0;
    this.strings = strings;
    this.words = typeWords(bytes, header);
    const index = indexTypes(this.words, this.firstTypeId, this.strStart + strings.length, header.hdrLen + header.typeOff);
    this.offsets = index.offsets;
  }

  /** Parses raw BTF (`/sys/kernel/btf/vmlinux`, an object's `.BTF`). Throws `ObjectParseError` (`BTF_INVALID`). */
  static parse(bytes: Uint8Array, options: BtfParseOptions = {}): Btf {
    try {
      return new Btf(plainBytes(bytes), options);
    } catch (e) {
      if (e instanceof ObjectParseError) throw e;
      throw new ObjectParseError('BTF_INVALID', `malformed BTF: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  }

  /** The blob as given (header, types, strings), for BPF_BTF_LOAD; a copy of read-only bytes (`readOnly`). */
  get raw(): Uint8Array {
    return this.readOnly ? (this.rawCopy ??= this.bytes.slice()) : this.bytes;
  }

  /** Number of type ids including void and the base's types (libbpf's `btf__type_cnt`). */
  get length(): number {
    return this.firstTypeId + this.offsets.length;
  }

  /** End of the string space (base strings + own strings). */
  get stringsEnd(): number {
    return this.strStart + this.strings.length;
  }

  /** The type with this id (0 is void). Throws `BTF_NOT_FOUND` for an id out of range. */
  type(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.firstTypeId) {
      if (this.base) return this.base.type(id);
      throw notFound(id);
    }
    const i = id - this.firstTypeId;
    if (!(i < this.offsets.length)) throw notFound(id);
    const cache = (this.cache ??= new Map());
    let t = cache.get(i);
    if (t === undefined) {
      t = decodeType(this.words, this.offsets[i]!, id, (this.strFn ??= (offset) => this.string(offset)), this.length);
      cache.set(i, t);
    }
    return t;
  }

  /** Byte offset of a type's record in `raw` (for patching a copy, as the BTF fix-up does). */
  recordOffset(id: number): number {
    const off = id >= this.firstTypeId ? this.offsets[id - this.firstTypeId] : undefined;
    if (off === undefined) throw notFound(id);
    return this.header.hdrLen + this.header.typeOff + off * 4;
  }

  /** The kind of a type without decoding it. */
  kindOf(id: number): BtfKindName {
    if (id === 0) return 'void';
    if (id < this.firstTypeId && this.base) return this.base.kindOf(id);
    const off = this.offsets[id - this.firstTypeId];
    if (off === undefined) throw notFound(id);
    return KIND_NAMES[kindOf(this.words[off + 1]!)]!;
  }

  /** This blob's own types (not the base's), in id order; decoded as met, not kept (kept, 126k types cost more in GC than to decode). */
  *types(): IterableIterator<BtfType> {
    const { offsets, firstTypeId } = this;
    const fresh = (this.freshStrFn ??= (offset) => this.readString(offset));
    for (let i = 0; i < offsets.length; i++) yield this.cache?.get(i) ?? decodeType(this.words, offsets[i]!, firstTypeId + i, fresh, this.length);
  }

  /** The string at a string-section offset ('' for 0). */
  string(offset: number): string {
    if (offset < this.strStart) return this.readString(offset); // the base's, kept there
    const names = (this.names ??= new Map());
    let s = names.get(offset);
    if (s === undefined) names.set(offset, (s = this.readString(offset)));
    return s;
  }

  /** string() without keeping the answer: types() keeps nothing. */
  private readString(offset: number): string {
    const start = offset - this.strStart;
    if (start < 0 && this.base) return this.base.string(offset);
    if (start < 0 || start >= this.strings.length) throw new ObjectParseError('BTF_INVALID', `string offset ${offset} is out of range`);
    return cString(this.strings, start);
  }

  /**
   * The first type with this name (and kind, if given), as libbpf's
   * `btf__find_by_name_kind`: a linear scan comparing kinds and raw name
   * bytes, decoding only the match.
   */
  findByName<K extends BtfKindName>(name: string, kind: K): BtfTypeOf<K> | undefined;
  findByName(name: string): BtfType | undefined;
  findByName(name: string, kind?: BtfKindName): BtfType | undefined {
    if (name === 'void' && (kind === undefined || kind === 'void')) return VOID;
    const id = this.scan(encoder.encode(name), kind === undefined ? -1 : BtfKind[kind], true)[0];
    return id === undefined ? undefined : this.type(id);
  }

  /** Every type with this name (and kind, if given), in id order. */
  findAllByName(name: string, kind?: BtfKindName): BtfType[] {
    return this.scan(encoder.encode(name), kind === undefined ? -1 : BtfKind[kind], false).map((id) => this.type(id));
  }

  /** Every type (of `kind`, if given) whose name starts with `prefix` (CO-RE's flavoured names: `task_struct___old`). */
  findAllByNamePrefix(prefix: string, kind?: BtfKindName): BtfType[] {
    return this.scan(encoder.encode(prefix), kind === undefined ? -1 : BtfKind[kind], false, true).map((id) => this.type(id));
  }

  private scan(want: Uint8Array, kind: number, firstOnly: boolean, prefix = false): number[] {
    const found = this.base ? this.base.scan(want, kind, firstOnly, prefix) : [];
    if (firstOnly && found.length > 0) return found;
    if (want.length === 0) return found;
    const { words, offsets, strings, strStart } = this;
    const first = want[0]!;
    const len = want.length;
    for (let i = 0; i < offsets.length; i++) {
      const off = offsets[i]!;
      if (kind >= 0 && kindOf(words[off + 1]!) !== kind) continue;
      const s = words[off]! - strStart;
      if (s < 0 || strings[s] !== first || (!prefix && strings[s + len] !== 0)) continue;
      let j = 1;
      while (j < len && strings[s + j] === want[j]) j++;
      if (j === len) {
        found.push(this.firstTypeId + i);
        if (firstOnly) break;
      }
    }
    return found;
  }

  /**
   * The type behind typedefs and const/volatile/restrict/type_tag (libbpf's
   * `skip_mods_and_typedefs`).
   */
  resolve(id: number): BtfType {
    return this.answers.resolve(id);
  }

  /** Size in bytes of a value of this type (libbpf's `btf__resolve_size`). */
  sizeof(id: number): number {
    return this.answers.sizeof(id);
  }

  /** Alignment in bytes (libbpf's `btf__align_of`): 1 for packed structs. */
  alignof(id: number): number {
    return this.answers.alignof(id);
  }

  /** Members of a struct or union (through typedefs and modifiers). */
  members(id: number): readonly BtfMember[] {
    const t = this.resolve(id);
    if (t.kind !== 'struct' && t.kind !== 'union') {
      throw new ObjectParseError('BTF_INVALID', `type [${id}] is a ${t.kind}, not a struct or union`);
    }
    return t.members;
  }

  /** A C-like name for display: `struct task_struct`, `unsigned int`, `char *`, `int[4]`. */
  typeName(id: number): string {
    return this.answers.typeName(id);
  }

  private ptrSize: number | undefined;
  /** Pointer size, from the size of `long` as libbpf guesses it; 8 when BTF does not say. */
  pointerSize(): number {
    if (this.ptrSize === undefined) {
      const long = this.findAllByName('long int', 'int')[0] ?? this.findAllByName('long unsigned int', 'int')[0];
      this.ptrSize = long && long.kind === 'int' && (long.size === 4 || long.size === 8) ? long.size : 8;
    }
    return this.ptrSize;
  }
}

const KIND_NAMES = Object.keys(BtfKind) as BtfKindName[];

function notFound(id: number): ObjectParseError {
  return new ObjectParseError('BTF_NOT_FOUND', `no BTF type with id ${id}`);
}
