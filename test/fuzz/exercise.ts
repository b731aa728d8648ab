/**
 * Everything pure and lazy tsbpf does with an object or a BTF blob, in one
 * place for every fuzz test: parse; every type decoded, named, sized,
 * aligned and resolved; the raw, JSON and C dumps; the disassembly; linking,
 * CO-RE against the object's own BTF, relocation, func/line info and attach
 * ids; the BTF the kernel would be given and the .kconfig layout; load-time
 * constants; codecFromBtf of every map key, value and global (and a decode
 * of zeros with it); the bindings `tsbpf gen` writes. Each step runs even
 * when an earlier one failed (a typed error ends only that step), so one
 * mutation reaches as far as it can.
 */
import {
  Btf,
  TsbpfError,
  applyCoreRelos,
  attachBtfId,
  btfForKernel,
  calculateCoreRelos,
  explainPoison,
  formatBtfC,
  formatBtfJson,
  formatBtfRaw,
  formatInstructions,
  funcInfoBytes,
  kconfigLayout,
  lineInfoBytes,
  linkProgram,
  needsAttachBtfId,
  parseCollectionSpec,
  parseObjectBtf,
  relocateProgram,
  typelessKsyms,
  withLoadOverrides,
  type CollectionSpec,
  type KernelFacts,
  type KsymAddress,
} from '@tsbpf/object';
import { codecFromBtf, generateBindings, lpmKeyFamily, type Codec } from '@tsbpf/maps';

/** An error that escaped a step and is no tsbpf error: a bug, with the step it escaped from. */
export class Untyped extends Error {
  constructor(
    readonly step: string,
    readonly error: unknown,
  ) {
    super(`${step}: ${describe(error)}`, { cause: error });
  }
}

export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * A typed error that only wraps an untyped one: a parser's safety net
 * (`malformed object: Cannot read properties of undefined`) caught a gap in
 * validation. Users get a typed error, but the fuzzer reports the gap.
 */
function launders(e: TsbpfError): unknown {
  let cause: unknown = e.cause;
  for (let i = 0; i < 8 && cause !== undefined; i++) {
    if (!TsbpfError.is(cause)) return cause;
    cause = (cause as Error).cause;
  }
  return undefined;
}

/** Runs one step: its value, or undefined after a typed error; anything else is thrown as Untyped. */
export function step<T>(name: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Untyped) throw e;
    if (!TsbpfError.is(e)) throw new Untyped(name, e);
    const under = launders(e);
    if (under !== undefined) throw new Untyped(`${name} (under ${e.name} ${e.code})`, under);
    return undefined;
  }
}

/** Every type of a BTF blob through every walk: decode, name, size, alignment, resolve, members, lookup by name; the dumps. */
export function exerciseBtf(btf: Btf): void {
  // Lookups by name scan every type: 64 of them, spread over the blob.
  const lookupEvery = Math.max(1, Math.ceil(btf.length / 64));
  step('btf: types', () => {
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = step(`btf: type ${id}`, () => btf.type(id));
      step(`btf: kind ${id}`, () => btf.kindOf(id));
      step(`btf: typeName ${id}`, () => btf.typeName(id));
      step(`btf: sizeof ${id}`, () => btf.sizeof(id));
      step(`btf: alignof ${id}`, () => btf.alignof(id));
      step(`btf: resolve ${id}`, () => btf.resolve(id));
      if (t && (t.kind === 'struct' || t.kind === 'union')) step(`btf: members ${id}`, () => btf.members(id));
      if (t && t.name !== '' && id % lookupEvery === 0) step(`btf: findByName ${id}`, () => btf.findAllByName(t.name, t.kind));
    }
  });
  step('btf: raw dump', () => formatBtfRaw(btf));
  step('btf: JSON dump', () => formatBtfJson(btf));
  step('btf: C header', () => formatBtfC(btf));
}

/** Raw BTF (a kernel's, a module's on `base`): parsed, then every walk. */
export function exerciseRawBtf(bytes: Uint8Array, base?: Btf): void {
  const btf = step('btf: parse', () => Btf.parse(bytes, base ? { base } : {}));
  if (!btf) return;
  exerciseBtf(btf);
  // codecFromBtf of the structs and unions a blob has (the kernel's BTF has no maps to reach them): up to
  // MAX_RAW_CODECS, spread over the blob, so a blob of 60,000 structs stays a case of a second.
  step('btf: codecs', () => {
    const ids: number[] = [];
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const kind = step(`btf: kind ${id}`, () => btf.kindOf(id));
      if (kind === 'struct' || kind === 'union') ids.push(id);
    }
    const every = Math.max(1, Math.ceil(ids.length / MAX_RAW_CODECS));
    for (let i = 0; i < ids.length; i += every) codec(btf, ids[i]!, `btf: codec of [${ids[i]}]`);
  });
}

/** How many codecs exerciseRawBtf builds from one blob. */
const MAX_RAW_CODECS = 256;

/** Decodes zeros with a codec: the generated decoder runs once. */
function codec(btf: Btf, id: number, what: string): Codec<unknown> | undefined {
  const c = step(what, () => codecFromBtf(btf, id));
  if (c && c.size <= 1 << 20) step(`${what}: decode`, () => c.decode(new DataView(new ArrayBuffer(c.size)), 0));
  return c;
}

/** A BPF object: parse (and every lazy step the CLI, the loader and the maps package take after it). */
export function exerciseObject(bytes: Uint8Array): void {
  step('parseObjectBtf', () => parseObjectBtf(bytes));
  const spec = step('parse', () => parseCollectionSpec(bytes));
  if (!spec) return;
  step('parse (unknown sections refused)', () => parseCollectionSpec(bytes, { unknownSections: 'error' }));
  if (spec.btf) exerciseBtf(spec.btf);
  step('btfForKernel', () => btfForKernel(spec));
  const kconfig = step('kconfigLayout', () => kconfigLayout(spec));
  for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
    step(`disassemble ${p.name}`, () => formatInstructions(p.instructions, { byteOrder: spec.byteOrder, lineInfo: p.lineInfo, linum: true }));
  }
  for (const name of Object.keys(spec.programs)) step(`program ${name}`, () => linkAndRelocate(spec, name, kconfig));
  step('constants', () => withLoadOverrides(spec, { constants: zeroConstants(spec) }));
  exerciseCodecs(spec);
  step('gen', () => generateBindings(spec, { object: bytes, source: 'fuzz.bpf.o' }));
  step('gen --no-embed --camel-case', () => generateBindings(spec, { source: 'fuzz.bpf.o', memberNames: 'camel' }));
}

/** What loadCollection does with one program before BPF_PROG_LOAD, with made-up fds and the object's own BTF as the kernel's. */
function linkAndRelocate(spec: CollectionSpec, name: string, kconfig: ReturnType<typeof kconfigLayout> | undefined): void {
  const p = spec.programs[name]!;
  const btf = spec.btf;
  if (btf && needsAttachBtfId(p)) step('attachBtfId', () => attachBtfId(p, btf));
  let linked = step('link', () => linkProgram(spec, name));
  if (!linked) return;
  let core: ReturnType<typeof calculateCoreRelos> = [];
  if (btf && linked.coreRelos.length > 0) {
    core = step('CO-RE', () => calculateCoreRelos(btf, btf, linked!.coreRelos)) ?? [];
    const applied = step('CO-RE apply', () => applyCoreRelos(linked!.instructions, core));
    if (applied) linked = { ...linked, instructions: applied };
  }
  const facts: KernelFacts = {
    mapFds: new Map(Object.keys(spec.maps).map((m, i) => [m, 100 + i])),
    kconfig: kconfig ? { fd: 99, layout: kconfig } : undefined,
    kernelBtf: () => btf ?? Btf.parse(new Uint8Array(0)),
    kallsyms: () => new Map<string, KsymAddress>([...typelessKsyms(spec)].map((k, i) => [k, 0xffff_0000_0000_0000n + BigInt(i)])),
  };
  const done = linked;
  step('relocate', () => relocateProgram(spec, done, facts));
  step('func info', () => funcInfoBytes(done, spec.byteOrder));
  step('line info', () => lineInfoBytes(done, spec.byteOrder));
  step('explainPoison', () => explainPoison('0: (85) call unknown#195896080\ninvalid func unknown#195896080\n', core, spec));
}

/** A zero for every `.rodata` variable (what `constants` overrides), as bytes of its size. */
function zeroConstants(spec: CollectionSpec): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const m of Object.values(spec.maps)) if (m.kind === 'rodata') for (const v of m.variables) out[v.name] = new Uint8Array(Math.min(v.size, 1 << 16));
  return out;
}

/** The codecs typedMaps and Globals build: every map's key and value, every global. */
function exerciseCodecs(spec: CollectionSpec): void {
  const btf = spec.btf;
  if (!btf) return;
  for (const m of Object.values(spec.maps)) {
    step(`map ${m.name}: LPM family`, () => lpmKeyFamily(m, btf));
    if (m.btfKeyTypeId) codec(btf, m.btfKeyTypeId, `map ${m.name}: key codec`);
    if (m.btfValueTypeId) codec(btf, m.btfValueTypeId, `map ${m.name}: value codec`);
    for (const v of m.variables) {
      if (!v.btfTypeId) continue;
      const t = step(`global ${v.name}`, () => btf.type(v.btfTypeId));
      if (t?.kind === 'var') codec(btf, t.type, `global ${v.name}: codec`);
    }
  }
}
