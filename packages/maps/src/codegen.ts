import { MapType, NON_DATA_MAP_TYPES, PER_CPU_MAP_TYPES, type Btf, type CollectionSpec } from '@tsbpf/object';
import { CodegenError } from './errors.js';
import { lpmKeyFamily } from './special-maps.js';

export interface GenerateOptions {
  /** The object's bytes, embedded in the file (base64) so it needs nothing at run time. */
  object: Uint8Array;
  /** Where the object came from, for the header comment. */
  source: string;
  /** Ring buffer map → record struct name; otherwise found by the `unused_<map>` convention or a single `unused_*` pointer. */
  records?: Readonly<Record<string, string>>;
}

const pascal = (s: string) => s.replace(/(^|_)([a-z0-9])/gi, (_, __, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '') || 'Anon';
const ident = (s: string) => (/^[A-Za-z_$][\w$]*$/.test(s) ? s : JSON.stringify(s));

/**
 * TypeScript bindings for an object, like bpf2go or a libbpf skeleton: an
 * interface per struct and a type per enum its maps, ring buffer records and
 * constants use; `Constants` for `.rodata`; and `load(options)` returning the
 * collection with every map typed, its programs, its globals and ring buffer
 * readers. The object is embedded; codecs come from its BTF at load.
 */
export function generateBindings(spec: CollectionSpec, options: GenerateOptions): string {
  const btf = spec.btf;
  const named = new Map<number, string>(); // BTF id → TS type name
  const decls: string[] = [];
  const used = new Set<string>();
  const nameFor = (base: string) => {
    let n = pascal(base);
    for (let i = 2; used.has(n); i++) n = `${pascal(base)}${i}`;
    used.add(n);
    return n;
  };

  const typeOf = (id: number, depth = 0): string => {
    if (!btf || depth > 16) return 'unknown';
    const t = btf.resolve(id);
    switch (t.kind) {
      case 'int':
        if (t.encoding & 4 && t.size === 1) return 'boolean';
        return t.size <= 4 ? 'number' : 'bigint';
      case 'float':
        return 'number';
      case 'ptr':
        return 'bigint';
      case 'enum':
      case 'enum64': {
        if (!t.name) return `${t.values.map((v) => JSON.stringify(v.name)).join(' | ') || 'never'} | ${t.kind === 'enum64' ? 'bigint' : 'number'}`;
        let n = named.get(t.id);
        if (!n) {
          n = nameFor(t.name);
          named.set(t.id, n);
          decls.push(`/** enum ${t.name} */\nexport type ${n} = ${t.values.map((v) => JSON.stringify(v.name)).join(' | ') || 'never'} | ${t.kind === 'enum64' ? 'bigint' : 'number'};\n`);
        }
        return n;
      }
      case 'array': {
        const elem = btf.resolve(t.type);
        if (elem.kind === 'int' && elem.size === 1 && (elem.encoding & 2 || elem.name === 'char')) return 'string';
        if (elem.kind === 'int' && !(elem.encoding & 4)) {
          const bits = elem.size * 8;
          if (bits === 64) return elem.signed ? 'BigInt64Array' : 'BigUint64Array';
          if (bits <= 32) return `${elem.signed ? 'Int' : 'Uint'}${bits}Array`;
        }
        if (elem.kind === 'float') return elem.size === 4 ? 'Float32Array' : 'Float64Array';
        return `${typeOf(t.type, depth + 1)}[]`;
      }
      case 'struct':
      case 'union': {
        if (!t.name) return `{ ${members(btf, t, depth).join(' ')} }`;
        let n = named.get(t.id);
        if (!n) {
          n = nameFor(t.name);
          named.set(t.id, n);
          const body = members(btf, t, depth);
          decls.push(`/** ${t.kind} ${t.name} (${t.size} bytes) */\nexport interface ${n} {\n${body.map((m) => `  ${m}`).join('\n')}\n}\n`);
        }
        return n;
      }
      default:
        return 'unknown';
    }
  };

  const members = (b: Btf, t: Extract<ReturnType<Btf['resolve']>, { kind: 'struct' | 'union' }>, depth: number): string[] => {
    const out: string[] = [];
    if (t.kind === 'union') out.push('$bytes?: Uint8Array;');
    for (const m of t.members) {
      const mt = b.resolve(m.type);
      if (m.name === '' && (mt.kind === 'struct' || mt.kind === 'union')) {
        // Anonymous members are the parent's (C11); union members may each be given.
        for (const inner of members(b, mt, depth + 1)) if (!inner.startsWith('$bytes')) out.push(mt.kind === 'union' ? inner.replace(/^([^:?]+):/, '$1?:') : inner);
        continue;
      }
      if (m.name === '') continue;
      const ts = m.bitfieldSize ? 'number' : typeOf(m.type, depth + 1);
      out.push(`${ident(m.name)}${t.kind === 'union' ? '?' : ''}: ${ts};`);
    }
    return out;
  };

  // A record type given for a map that is not a ring buffer of this object is a typo, not a no-op.
  for (const map of Object.keys(options.records ?? {})) {
    const m = spec.maps[map];
    if (!m || m.type !== MapType.ringbuf) {
      const rings = Object.values(spec.maps).filter((x) => x.type === MapType.ringbuf).map((x) => x.name);
      throw new CodegenError('GEN_RECORD', `records: ${m ? `map ${map} is a ${m.typeName}, not a ring buffer` : `no map named ${map}`}; ring buffers: ${rings.join(', ') || 'none'}`);
    }
  }

  // Ring buffer record types: the option, else `unused_<map>`, else the only `unused_*` pointer.
  const recordFor = (map: string): number | undefined => {
    if (!btf) return undefined;
    const given = options.records?.[map];
    if (given) {
      const t = btf.findByName(given, 'struct');
      if (!t) throw new CodegenError('GEN_RECORD', `records: no struct ${given} in the object's BTF`);
      return t.id;
    }
    const unused = btf.findAllByName(`unused_${map}`, 'var');
    const candidates = unused.length > 0 ? unused : [...btf.types()].filter((t) => t.kind === 'var' && t.name.startsWith('unused_'));
    if (candidates.length !== 1) return undefined;
    const v = candidates[0]!;
    if (v.kind !== 'var') return undefined;
    const p = btf.resolve(v.type);
    return p.kind === 'ptr' ? p.type : undefined;
  };

  const mapLines: string[] = [];
  const mapInit: string[] = [];
  const ringLines: string[] = [];
  const ringInit: string[] = [];
  for (const [name, m] of Object.entries(spec.maps)) {
    if (m.kind !== 'btf' && m.kind !== 'legacy') continue;
    if (m.type === MapType.ringbuf) {
      const rec = recordFor(name);
      if (rec !== undefined) {
        ringLines.push(`  ${ident(name)}: (options?: RingBufferOptions) => RingBuffer<${typeOf(rec)}>;`);
        ringInit.push(`    ${ident(name)}: (o) => new RingBuffer(collection.maps[${JSON.stringify(name)}]!, codec(${rec}), o),`);
      }
      continue;
    }
    if (m.type === MapType.prog_array) {
      mapLines.push(`  ${ident(name)}: ProgramArray;`);
      mapInit.push(`    ${ident(name)}: new ProgramArray(collection.maps[${JSON.stringify(name)}]!),`);
      continue;
    }
    if (m.type === MapType.array_of_maps || m.type === MapType.hash_of_maps) {
      const k = m.btfKeyTypeId ? typeOf(m.btfKeyTypeId) : 'Uint8Array';
      const keyCodec = m.btfKeyTypeId ? `codec(${m.btfKeyTypeId})` : `bytes(${m.keySize})`;
      mapLines.push(`  ${ident(name)}: MapOfMaps<${k}>;`);
      mapInit.push(`    ${ident(name)}: new MapOfMaps(collection.maps[${JSON.stringify(name)}]!, ${keyCodec} as Codec<${k}>),`);
      continue;
    }
    if (NON_DATA_MAP_TYPES.has(m.type)) {
      mapLines.push(`  ${ident(name)}: BpfMap;`);
      mapInit.push(`    ${ident(name)}: collection.maps[${JSON.stringify(name)}]!,`);
      continue;
    }
    const lpm = lpmKeyFamily(m, btf);
    const k = lpm ? 'string' : m.btfKeyTypeId ? typeOf(m.btfKeyTypeId) : 'Uint8Array';
    const v = m.btfValueTypeId ? typeOf(m.btfValueTypeId) : 'Uint8Array';
    const cls = PER_CPU_MAP_TYPES.has(m.type) ? 'PerCpuMap' : 'TypedMap';
    const keyCodec = lpm ? `cidrKey('${lpm}')` : m.btfKeyTypeId ? `codec(${m.btfKeyTypeId})` : `bytes(${m.keySize})`;
    const valueCodec = m.btfValueTypeId ? `codec(${m.btfValueTypeId})` : `bytes(${m.valueSize})`;
    mapLines.push(`  ${ident(name)}: ${cls}<${k}, ${v}>;`);
    mapInit.push(`    ${ident(name)}: new ${cls}(collection.maps[${JSON.stringify(name)}]!, ${keyCodec} as Codec<${k}>, ${valueCodec} as Codec<${v}>),`);
  }

  const constants: string[] = [];
  for (const m of Object.values(spec.maps)) {
    if (m.kind !== 'rodata') continue;
    for (const v of m.variables) {
      let ts = 'Uint8Array';
      if (btf && v.btfTypeId) {
        const t = btf.type(v.btfTypeId);
        if (t.kind === 'var') {
          const r = btf.resolve(t.type);
          ts = r.kind === 'int' ? (r.encoding & 4 ? 'boolean' : 'number | bigint') : 'Uint8Array';
        }
      }
      constants.push(`  ${ident(v.name)}?: ${ts};`);
    }
  }
  // Global variables, typed from BTF as Globals decodes them (the last of a name wins, as there).
  const globalTypes = new Map<string, { ts: string; writable: boolean }>();
  for (const m of Object.values(spec.maps)) {
    if (m.kind !== 'data' && m.kind !== 'bss' && m.kind !== 'rodata') continue;
    for (const v of m.variables) {
      let ts = 'Uint8Array';
      if (btf && v.btfTypeId) {
        const t = btf.type(v.btfTypeId);
        if (t.kind === 'var') ts = typeOf(t.type);
      }
      globalTypes.set(v.name, { ts, writable: m.kind !== 'rodata' });
    }
  }
  const globalLines = [...globalTypes].map(([n, g]) => `  ${ident(n)}: ${g.ts};`);
  const writableGlobals = [...globalTypes].filter(([, g]) => g.writable).map(([n]) => JSON.stringify(n));
  const programs = Object.keys(spec.programs).map((p) => `  ${ident(p)}: Program;`);
  const b64 = toBase64(options.object);

  return `// Code generated by tsbpf gen from ${options.source}; DO NOT EDIT.
import { parseCollectionSpec, type CollectionSpec } from '@tsbpf/object';
import { loadCollection, type BpfMap, type Collection, type LoadCollectionOptions, type Program } from '@tsbpf/loader';
import { Globals, MapOfMaps, PerCpuMap, ProgramArray, RingBuffer, TypedMap, bytes, cidrKey, codecFromBtf, type Codec, type RingBufferOptions } from '@tsbpf/maps';

${decls.join('\n')}
/** \`const volatile\` globals, set before load. */
export interface Constants {
${constants.join('\n')}
}

export interface Maps {
${mapLines.join('\n')}
}

export interface Programs {
${programs.join('\n')}
}

export interface RingBuffers {
${ringLines.join('\n')}
}

/** Every global variable (\`.data\`, \`.bss\`, \`.rodata\`), typed as Globals reads it. */
export interface GlobalVariables {
${globalLines.join('\n')}
}

/** The globals set() accepts: not \`.rodata\` (frozen at load; give those in \`constants\`). */
export type WritableGlobal = ${writableGlobals.join(' | ') || 'never'};

/** Globals by name, typed. */
export interface TypedGlobals {
  names(): string[];
  get<K extends keyof GlobalVariables>(name: K): GlobalVariables[K];
  set<K extends WritableGlobal>(name: K, value: GlobalVariables[K]): void;
}

export interface Loaded extends Disposable {
  readonly collection: Collection;
  readonly maps: Maps;
  readonly programs: Programs;
  readonly globals: TypedGlobals;
  readonly ringBuffers: RingBuffers;
  close(): void;
}

const OBJECT = ${JSON.stringify(b64)};

/** The embedded object, parsed. */
export function spec(): CollectionSpec {
  return parseCollectionSpec(Uint8Array.from(atob(OBJECT), (c) => c.charCodeAt(0)));
}

/** Loads the object; every map typed from its BTF. */
export function load(options: Omit<LoadCollectionOptions, 'constants'> & { constants?: Constants } = {}): Loaded {
  const s = spec();
  const collection = loadCollection(s, options as LoadCollectionOptions);
  try {
    const codec = (id: number) => codecFromBtf(s.btf!, id) as Codec<never>;
    void codec;
    void bytes;
    const maps: Maps = {
${mapInit.join('\n')}
    };
    const ringBuffers: RingBuffers = {
${ringInit.join('\n')}
    };
    const programs = collection.programs as unknown as Programs;
    const globals = new Globals(collection, s) as unknown as TypedGlobals;
    return { collection, maps, programs, globals, ringBuffers, close: () => collection.close(), [Symbol.dispose]: () => collection.close() };
  } catch (e) {
    collection.close();
    throw e;
  }
}
`;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
