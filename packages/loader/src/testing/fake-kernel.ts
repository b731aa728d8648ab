/**
 * FakeKernel: a bpf() door for unit tests that run without root. It keeps
 * hash and array maps in JavaScript and answers the map commands as the
 * kernel does (reading attrs through the generated layouts, and the memory
 * their pointers name through memoryAt); any command can be scripted with
 * `answer`, or answered and its attr read back with `record`. One fake can
 * serve a describe block: `beforeEach(() =>
 * kernel.reset().install())` (vitest runs the returned restore after each
 * test); fakeProgram loads a program through it. Not exported from the package.
 */
import { constants } from 'node:os';
import { asm, encodeInstructions } from '@tsbpf/object';
import { Program } from '../program.js';
import { setBpfDoor, type BpfDoor } from '../sys/door.js';
import { memoryAt, type NativeBuffer } from '../sys/ffi.js';
import { getField, getName, setField } from '../sys/fields.js';
import { bpfCmd, mapBatchAttr as B, mapCreateAttr as C, mapElemAttr as E, mapInfo as MI, objInfoAttr as I, type BpfCmdName } from '../sys/layouts.generated.js';

const { EPERM, ENOENT, E2BIG, EBADF, EEXIST, EINVAL } = constants.errno;
const ARRAY = 2; // BPF_MAP_TYPE_ARRAY
const [NOEXIST, EXIST] = [1, 2]; // BPF_NOEXIST, BPF_EXIST

const names = new Map<number, BpfCmdName>(Object.entries(bpfCmd).map(([name, n]) => [n, name as BpfCmdName]));

/** A map the fake kernel holds: entries by key (hex), in insertion order. */
export interface FakeMap {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  readonly entries: Map<string, { key: Uint8Array; value: Uint8Array }>;
  frozen: boolean;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class FakeKernel implements BpfDoor {
  /** Every call, in order: the command and the attr size it passed. */
  readonly calls: { cmd: BpfCmdName; size: number }[] = [];
  /** Every fd closed through the door. */
  readonly closed: number[] = [];
  readonly maps = new Map<number, FakeMap>();
  /** Answers a command before the fake does (a number: that result; undefined: the fake's own answer). */
  answer: ((cmd: BpfCmdName, attr: NativeBuffer) => number | undefined) | undefined;
  private nextFd = 1 << 20;

  /** Back to a new fake's state: no calls, closes, maps or answer, fds from the first again. */
  reset(): this {
    this.calls.length = 0;
    this.closed.length = 0;
    this.maps.clear();
    this.answer = undefined;
    this.nextFd = 1 << 20;
    return this;
  }

  /** Puts this fake in the door; returns the function that takes it out. */
  install(): () => void {
    return setBpfDoor(this);
  }

  /** The commands called, in order. */
  commands(): BpfCmdName[] {
    return this.calls.map((c) => c.cmd);
  }

  bpf(cmd: number, attr: NativeBuffer, size: number): number {
    const name = names.get(cmd);
    if (name === undefined) return -EINVAL;
    this.calls.push({ cmd: name, size });
    const scripted = this.answer?.(name, attr);
    if (scripted !== undefined) return scripted;
    const v = attr.view;
    switch (name) {
      case 'MAP_CREATE':
        return this.create(v, attr.bytes);
      case 'MAP_LOOKUP_ELEM':
        return this.withMap(v, (m) => this.lookup(m, v));
      case 'MAP_UPDATE_ELEM':
        return this.withMap(v, (m) =>
          this.update(m, memoryAt(BigInt(getField(v, E.key)), m.keySize), memoryAt(BigInt(getField(v, E.value)), m.valueSize), getField(v, E.flags)),
        );
      case 'MAP_DELETE_ELEM':
        return this.withMap(v, (m) => (m.type === ARRAY ? -EINVAL : m.entries.delete(hex(memoryAt(BigInt(getField(v, E.key)), m.keySize))) ? 0 : -ENOENT));
      case 'MAP_GET_NEXT_KEY':
        return this.withMap(v, (m) => this.nextKey(m, v));
      case 'MAP_LOOKUP_BATCH':
        return this.lookupBatch(v);
      case 'MAP_FREEZE':
        return this.withMap(v, (m) => {
          m.frozen = true;
          return 0;
        });
      case 'OBJ_GET_INFO_BY_FD':
        return this.info(v);
      default:
        return -EINVAL;
    }
  }

  close(fd: number): void {
    this.closed.push(fd);
    this.maps.delete(fd);
  }

  /**
   * Answers every call of `cmds` with `result` (a new fd when undefined),
   * recording what `read` takes from its attr while the call is made (the
   * memory its pointers name is freed after it). The records, in order.
   */
  record<T>(cmds: BpfCmdName | readonly BpfCmdName[], read: (attr: NativeBuffer, cmd: BpfCmdName) => T, result?: number): T[] {
    const wanted: readonly BpfCmdName[] = typeof cmds === 'string' ? [cmds] : cmds;
    const seen: T[] = [];
    this.answer = (cmd, attr) => {
      if (!wanted.includes(cmd)) return undefined;
      seen.push(read(attr, cmd));
      return result ?? this.fd();
    };
    return seen;
  }

  /** A new fd, as the kernel would hand out (never a real one). */
  fd(): number {
    return this.nextFd++;
  }

  private create(v: DataView, bytes: Uint8Array): number {
    const m: FakeMap = {
      type: getField(v, C.map_type),
      keySize: getField(v, C.key_size),
      valueSize: getField(v, C.value_size),
      maxEntries: getField(v, C.max_entries),
      flags: getField(v, C.map_flags),
      name: getName(bytes, C.map_name),
      entries: new Map(),
      frozen: false,
    };
    if (m.keySize === 0 || m.valueSize === 0 || m.maxEntries === 0) return -EINVAL;
    const fd = this.fd();
    this.maps.set(fd, m);
    return fd;
  }

  private withMap(v: DataView, fn: (m: FakeMap) => number): number {
    const m = this.maps.get(getField(v, E.map_fd));
    return m ? fn(m) : -EBADF;
  }

  private lookup(m: FakeMap, v: DataView): number {
    const e = m.entries.get(hex(memoryAt(BigInt(getField(v, E.key)), m.keySize)));
    if (!e) return -ENOENT;
    memoryAt(BigInt(getField(v, E.value)), m.valueSize).set(e.value);
    return 0;
  }

  /** Stores a copy of key and value, as BPF_MAP_UPDATE_ELEM with `flags`. */
  update(m: FakeMap, key: Uint8Array, value: Uint8Array, flags = 0): number {
    if (m.frozen) return -EPERM;
    const k = hex(key);
    const present = m.entries.has(k);
    if (flags === NOEXIST && present) return -EEXIST;
    if (flags === EXIST && !present) return -ENOENT;
    if (!present && m.entries.size >= m.maxEntries) return -E2BIG;
    m.entries.set(k, { key: key.slice(), value: value.slice() });
    return 0;
  }

  private nextKey(m: FakeMap, v: DataView): number {
    const keys = [...m.entries.values()].map((e) => e.key);
    const at = getField(v, E.key);
    let i = 0;
    if (at !== 0) {
      const k = hex(memoryAt(BigInt(at), m.keySize));
      i = keys.findIndex((x) => hex(x) === k) + 1;
    }
    const next = keys[i];
    if (!next) return -ENOENT;
    memoryAt(BigInt(getField(v, E.next_key)), m.keySize).set(next);
    return 0;
  }

  /** BPF_MAP_LOOKUP_BATCH: the cursor is an entry index (u32); ENOENT once the walk reaches the end, with the count still set. */
  private lookupBatch(v: DataView): number {
    const m = this.maps.get(getField(v, B.map_fd));
    if (!m) return -EBADF;
    const inBatch = getField(v, B.in_batch);
    const start = inBatch === 0 ? 0 : new DataView(memoryAt(BigInt(inBatch), 4).buffer).getUint32(0, true);
    const want = getField(v, B.count);
    const all = [...m.entries.values()];
    const chunk = all.slice(start, start + want);
    const keys = memoryAt(BigInt(getField(v, B.keys)), want * m.keySize);
    const values = memoryAt(BigInt(getField(v, B.values)), want * m.valueSize);
    chunk.forEach((e, i) => {
      keys.set(e.key, i * m.keySize);
      values.set(e.value, i * m.valueSize);
    });
    setField(v, B.count, chunk.length);
    new DataView(memoryAt(BigInt(getField(v, B.out_batch)), 4).buffer).setUint32(0, start + chunk.length, true);
    return start + chunk.length >= all.length ? -ENOENT : 0;
  }

  private info(v: DataView): number {
    const m = this.maps.get(getField(v, I.bpf_fd));
    if (!m) return -EBADF;
    const out = memoryAt(BigInt(getField(v, I.info)), getField(v, I.info_len));
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    setField(view, MI.type, m.type);
    setField(view, MI.key_size, m.keySize);
    setField(view, MI.value_size, m.valueSize);
    setField(view, MI.max_entries, m.maxEntries);
    setField(view, MI.map_flags, m.flags);
    out.set(new TextEncoder().encode(m.name).subarray(0, MI.name.size - 1), MI.name.offset);
    return 0;
  }
}

/** A program of `type` (code: return `r0`) loaded through the fake, its PROG_LOAD answered with a new fd; `answer` is left as it was. */
export function fakeProgram(kernel: FakeKernel, type: number, name = 'p', r0 = 0): Program {
  const answer = kernel.answer;
  kernel.answer = (cmd, attr) => (cmd === 'PROG_LOAD' ? kernel.fd() : answer?.(cmd, attr));
  try {
    return Program.load({ type, name, license: 'GPL', instructions: encodeInstructions([asm.mov64Imm(0, r0), asm.exit()], 'little') });
  } finally {
    kernel.answer = answer;
  }
}
