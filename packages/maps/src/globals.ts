/**
 * Globals: an object's global variables (`.data`, `.bss`, `.rodata`) by
 * name, read and written in the maps' own memory; TypedGlobals, the same
 * with names and types known at compile time.
 */
import type { BpfMap, Collection } from '@tsbpf/loader';
import { MapFlags, type CollectionSpec } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { MapSchemaError } from './errors.js';
import { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
import { bytes } from './primitives.js';

interface Variable {
  readonly map: string;
  readonly offset: number;
  readonly codec: Codec<unknown>;
  readonly readOnly: boolean;
}

/**
 * Global variables of a loaded object by name: `.data`, `.bss` and custom
 * data sections read and written in place, through the maps' own memory
 * (mmap, as a libbpf skeleton does: no system call, and a write touches only
 * the variable's bytes, never a program's concurrent writes to its
 * neighbours); `.rodata` read only (set it before load with `constants`).
 * Maps created without BPF_F_MMAPABLE (by another loader) fall back to one
 * lookup, or a lookup and an update of the whole section.
 */
export class Globals {
  private readonly vars = new Map<string, Variable>();
  private readonly zeroKey = new Uint8Array(4);

  constructor(
    private readonly collection: Collection,
    spec: CollectionSpec,
    options: BtfCodecOptions = {},
  ) {
    for (const m of Object.values(spec.maps)) {
      if (m.kind !== 'data' && m.kind !== 'bss' && m.kind !== 'rodata') continue;
      for (const v of m.variables) {
        let codec: Codec<unknown> = bytes(v.size) as Codec<unknown>;
        if (spec.btf && v.btfTypeId) {
          const t = spec.btf.type(v.btfTypeId);
          if (t.kind === 'var') codec = codecFromBtf(spec.btf, t.type, options);
        }
        this.vars.set(v.name, { map: m.name, offset: v.offset, codec, readOnly: m.kind === 'rodata' });
      }
    }
  }

  /** The names of every global. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  private variable(name: string): Variable {
    const v = this.vars.get(name);
    if (!v) throw new MapSchemaError('GLOBAL_UNKNOWN', `no global variable ${name}; have ${this.names().join(', ')}`);
    return v;
  }

  /** The section's mapped memory, or undefined where the map cannot be mapped. */
  private memory(map: BpfMap): DataView | undefined {
    if ((map.flags & MapFlags.MMAPABLE) === 0) return undefined;
    return map.mappedValues(); // throws once the collection is closed: never a view of unmapped memory
  }

  get<T = unknown>(name: string): T {
    const v = this.variable(name);
    const map = this.collection.maps[v.map]!;
    const mem = this.memory(map);
    if (mem) return v.codec.decode(mem, v.offset) as T;
    const value = map.lookup(this.zeroKey)!;
    return v.codec.decode(new DataView(value.buffer, value.byteOffset, value.byteLength), v.offset) as T;
  }

  /** Writes one global: its own bytes in the mapped section (else the section rewritten in one update). */
  set(name: string, value: unknown): void {
    const v = this.variable(name);
    if (v.readOnly) throw new MapSchemaError('GLOBAL_READ_ONLY', `${name} is in ${v.map}, which is frozen after load: pass it as a constant when loading`);
    const map = this.collection.maps[v.map]!;
    const mem = this.memory(map);
    if (mem && map.mappedWritable) {
      // Encode aside first: a value the codec refuses must not leave the variable half-written.
      const scratch = new DataView(new ArrayBuffer(v.codec.size));
      v.codec.encode(value, scratch, 0);
      new Uint8Array(mem.buffer, mem.byteOffset + v.offset, v.codec.size).set(new Uint8Array(scratch.buffer));
      return;
    }
    const current = map.lookup(this.zeroKey)!;
    v.codec.encode(value, new DataView(current.buffer, current.byteOffset, current.byteLength), v.offset);
    map.update(this.zeroKey, current);
  }
}

/**
 * Globals whose names and types are known, as generated bindings know
 * them: `get` and `set` checked at compile time (an unknown name, a value
 * of the wrong type, a write to `.rodata` do not compile).
 */
export class TypedGlobals<Vars extends object, Writable extends keyof Vars = keyof Vars> {
  constructor(readonly untyped: Globals) {}

  names(): string[] {
    return this.untyped.names();
  }

  get<K extends keyof Vars & string>(name: K): Vars[K] {
    return this.untyped.get<Vars[K]>(name);
  }

  set<K extends Writable & string>(name: K, value: Vars[K]): void {
    this.untyped.set(name, value);
  }
}
