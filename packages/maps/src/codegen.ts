/**
 * generateBindings (`tsbpf gen`): TypeScript bindings for an object, like
 * bpf2go or a libbpf skeleton. This file gathers what goes in them (types,
 * codecs, maps, programs, globals, ring buffer records); codegen-template.ts
 * lays it out.
 */
import { MapType, type Btf, type CollectionSpec } from '@tsbpf/object';
import { isScalarName, SCALAR_SIZES, type BtfCodecOptions, type ScalarName } from './codec-plan.js';
import { bindingsTemplate, RESERVED, type Slots } from './codegen-template.js';
import { key, literal, member, quote } from './codegen-text.js';
import { TypeWriter } from './codegen-types.js';
import { CodegenError } from './errors.js';
import { mapBinding, type CodecSource } from './map-binding.js';

export interface GenerateOptions {
  /**
   * The object's bytes, embedded in the file (base64) with `spec()` and
   * `load()`, so it needs nothing at run time. Without it (`--no-embed`)
   * the file holds the types and codecs only, for objects loaded another way.
   */
  object?: Uint8Array;
  /** Where the object came from, for the header comment. */
  source: string;
  /** Ring buffer map → record struct name; otherwise found by the `unused_<map>` convention or a single `unused_*` pointer. */
  records?: Readonly<Record<string, string>>;
  /** Struct and union member names as in C (default) or in camelCase (`--camel-case`). */
  memberNames?: 'c' | 'camel';
  /** Typedef → built-in codec (`--typedef ipv4_addr=ipv4`): what the C marks by a typedef, read as that codec reads it. */
  typedefs?: Readonly<Record<string, string>>;
}

/**
 * TypeScript bindings for an object: an interface per struct and a type per
 * enum its maps, ring buffer records and globals use, each with a codec
 * constant of the same name; the key and value codecs of every map; and,
 * with the object embedded, `Constants` for `.rodata` and `load(options)`
 * returning the collection with every map typed, its programs, its globals
 * and ring buffer readers.
 */
export function generateBindings(spec: CollectionSpec, options: GenerateOptions): string {
  const btf = spec.btf;
  const typedefs = checkTypedefs(btf, options.typedefs ?? {});
  const codecOptions: BtfCodecOptions = {
    ...(options.memberNames === 'camel' ? { memberNames: 'camel' } : {}),
    ...(Object.keys(typedefs).length > 0 ? { typedefs } : {}),
  };
  const embedded = options.object !== undefined;
  const writer = btf ? new TypeWriter(btf, codecOptions, embedded, RESERVED) : undefined;
  const typeOf = (id: number): string => (writer ? writer.typeOf(writer.plan(id)) : 'Uint8Array');
  const codecOf = (source: CodecSource): { type: string; codec: string } => {
    if (source.kind === 'cidr') return { type: 'string', codec: `cidrKey(${quote(source.family)})` };
    if (source.kind === 'bytes' || !writer) return { type: 'Uint8Array', codec: `bytes(${source.kind === 'bytes' ? source.size : 0})` };
    const plan = writer.plan(source.typeId);
    return { type: writer.typeOf(plan), codec: writer.codecOf(plan, 1, true) };
  };
  const uses = new Set<string>(); // what the maps and ring buffers import from @tsbpf/maps

  const slots: Slots = {
    source: options.source,
    flags: [
      ...(embedded ? [] : ['--no-embed']),
      ...(options.memberNames === 'camel' ? ['--camel-case'] : []),
      ...Object.entries(typedefs).map(([name, scalar]) => `--typedef ${name}=${scalar}`),
      ...Object.entries(options.records ?? {}).map(([map, struct]) => `--record ${map}=${struct}`),
    ],
    imports: uses,
    types: [],
    codecs: [],
    rawMaps: false,
    mapCodecs: [],
    recordCodecs: [],
    usesBtf: false,
    btfOptions: Object.keys(codecOptions).length > 0 ? literal(codecOptions) : undefined,
    object: options.object,
    constants: [],
    maps: [],
    mapInit: [],
    programs: [],
    programInit: [],
    ringBuffers: [],
    ringInit: [],
    globals: [],
    writableGlobals: [],
  };

  const records = recordTypes(spec, options.records);
  for (const [name, m] of Object.entries(spec.maps)) {
    const binding = mapBinding(m, btf);
    const live = `${member('maps', name)}!`;
    switch (binding?.kind) {
      case undefined:
        break;
      case 'TypedMap':
      case 'PerCpuMap': {
        const k = codecOf(binding.key);
        const v = codecOf(binding.value);
        if (binding.key.kind === 'cidr') uses.add('cidrKey');
        if (binding.key.kind === 'bytes' || binding.value.kind === 'bytes') uses.add('bytes');
        uses.add(binding.kind);
        slots.mapCodecs.push(`${key(name)}: { key: ${k.codec}, value: ${v.codec} },`);
        slots.maps.push(`${key(name)}: ${binding.kind}<${k.type}, ${v.type}>;`);
        const codecs = member('mapCodecs', name);
        slots.mapInit.push(`${key(name)}: new ${binding.kind}(${live}, ${codecs}.key, ${codecs}.value),`);
        break;
      }
      case 'MapOfMaps': {
        const k = codecOf(binding.key);
        if (binding.key.kind === 'bytes') uses.add('bytes');
        uses.add('MapOfMaps');
        slots.maps.push(`${key(name)}: MapOfMaps<${k.type}>;`);
        slots.mapInit.push(`${key(name)}: new MapOfMaps(${live}, ${k.codec}),`);
        break;
      }
      case 'ProgramArray':
        uses.add('ProgramArray');
        slots.maps.push(`${key(name)}: ProgramArray;`);
        slots.mapInit.push(`${key(name)}: new ProgramArray(${live}),`);
        break;
      case 'BpfMap':
        slots.rawMaps = true;
        slots.maps.push(`${key(name)}: BpfMap;`);
        slots.mapInit.push(`${key(name)}: ${live},`);
        break;
      case 'RingBuffer': {
        const rec = records.get(name);
        if (rec === undefined || !writer) break; // a ring buffer with no known record type is left out
        const plan = writer.plan(rec);
        slots.recordCodecs.push(`${key(name)}: ${writer.codecOf(plan, 1, true)},`);
        uses.add('RingBuffer');
        slots.ringBuffers.push(`${key(name)}: (options?: RingBufferOptions) => RingBuffer<${writer.typeOf(plan)}>;`);
        slots.ringInit.push(`${key(name)}: (options) => new RingBuffer(${live}, ${member('recordCodecs', name)}, options),`);
        break;
      }
    }
  }

  if (embedded) {
    for (const m of Object.values(spec.maps)) {
      if (m.kind !== 'rodata') continue;
      for (const v of m.variables) slots.constants.push(`${key(v.name)}?: ${constantType(btf, v.btfTypeId)};`);
    }
    // Global variables, typed as Globals decodes them (the last of a name wins, as there).
    const globals = new Map<string, { type: string; writable: boolean }>();
    for (const m of Object.values(spec.maps)) {
      if (m.kind !== 'data' && m.kind !== 'bss' && m.kind !== 'rodata') continue;
      for (const v of m.variables) {
        const t = btf && v.btfTypeId ? btf.type(v.btfTypeId) : undefined;
        globals.set(v.name, { type: t?.kind === 'var' ? typeOf(t.type) : 'Uint8Array', writable: m.kind !== 'rodata' });
      }
    }
    for (const [name, g] of globals) {
      slots.globals.push(`${key(name)}: ${g.type};`);
      if (g.writable) slots.writableGlobals.push(quote(name));
    }
    for (const p of Object.keys(spec.programs)) {
      slots.programs.push(`${key(p)}: Program;`);
      slots.programInit.push(`${key(p)}: ${member('programs', p)}!,`);
    }
  }

  if (writer) {
    for (const name of writer.imports) uses.add(name);
    slots.types = writer.types;
    slots.codecs = writer.codecs;
    slots.usesBtf = writer.usesBtf;
  }
  return bindingsTemplate(slots);
}

/** The typedef option checked against the BTF: every name a typedef there, every codec a built-in scalar of its size. */
function checkTypedefs(btf: Btf | undefined, typedefs: Readonly<Record<string, string>>): Record<string, ScalarName> {
  const out: Record<string, ScalarName> = {};
  for (const [name, scalar] of Object.entries(typedefs)) {
    if (!isScalarName(scalar)) {
      throw new CodegenError('GEN_TYPEDEF', `typedef ${name}: no codec ${scalar}; one of ${Object.keys(SCALAR_SIZES).join(', ')}`);
    }
    const t = btf?.findByName(name, 'typedef');
    if (!btf || !t) throw new CodegenError('GEN_TYPEDEF', `typedef ${name}: no such typedef in the object's BTF`);
    const size = btf.sizeof(t.id);
    if (size !== SCALAR_SIZES[scalar]) throw new CodegenError('GEN_TYPEDEF', `typedef ${name} is ${size} bytes, ${scalar} is ${SCALAR_SIZES[scalar]}`);
    out[name] = scalar;
  }
  return out;
}

/**
 * Ring buffer → BTF id of its record struct: the option, else the pointer
 * global `unused_<map>`, else the object's only `unused_*` pointer. A record
 * type named for a map that is no ring buffer of this object is a typo, not
 * a no-op.
 */
function recordTypes(spec: CollectionSpec, given: Readonly<Record<string, string>> = {}): Map<string, number> {
  const btf = spec.btf;
  const rings = Object.values(spec.maps).filter((m) => m.type === MapType.ringbuf);
  for (const name of Object.keys(given)) {
    const m = spec.maps[name];
    if (!m || m.type !== MapType.ringbuf) {
      const which = m ? `map ${name} is a ${m.typeName}, not a ring buffer` : `no map named ${name}`;
      throw new CodegenError('GEN_RECORD', `records: ${which}; ring buffers: ${rings.map((r) => r.name).join(', ') || 'none'}`);
    }
  }
  const out = new Map<string, number>();
  if (!btf) return out;
  for (const { name } of rings) {
    const struct = given[name];
    if (struct) {
      const t = btf.findByName(struct, 'struct');
      if (!t) throw new CodegenError('GEN_RECORD', `records: no struct ${struct} in the object's BTF`);
      out.set(name, t.id);
      continue;
    }
    const unused = btf.findAllByName(`unused_${name}`, 'var');
    const candidates = unused.length > 0 ? unused : [...btf.types()].filter((t) => t.kind === 'var' && t.name.startsWith('unused_'));
    const v = candidates.length === 1 ? candidates[0]! : undefined;
    const pointer = v?.kind === 'var' ? btf.resolve(v.type) : undefined;
    if (pointer?.kind === 'ptr') out.set(name, pointer.type);
  }
  return out;
}

/** What `load({ constants })` takes for a `.rodata` variable (the loader's own types for constants). */
function constantType(btf: Btf | undefined, varId: number): string {
  const t = btf && varId ? btf.type(varId) : undefined;
  if (!btf || t?.kind !== 'var') return 'Uint8Array';
  const r = btf.resolve(t.type);
  if (r.kind !== 'int') return 'Uint8Array';
  return r.encoding & 4 ? 'boolean' : 'number | bigint';
}
