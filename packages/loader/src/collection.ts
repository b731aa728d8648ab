import {
  MapFlags,
  MapType,
  ProgramType,
  applyCoreRelos,
  btfForKernel,
  calculateCoreRelos,
  kconfigLayout,
  linkProgram,
  type KconfigLayout,
  type Btf,
  type CoreResult,
  type CollectionSpec,
  type ExternSpec,
  type LinkedProgram,
  type MapSpec,
  type ProgramSpec,
} from '@tsbpf/object';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kconfigValue } from './kconfig.js';
import { readKallsyms, type KallsymsEntry } from './kallsyms.js';
import { runningKernelBtf, runningModuleBtfs } from './kernel-btf.js';
import { BpfMap, possibleCpus } from './map.js';
import { unpin } from './pin.js';
import { Program, VerifierError } from './program.js';
import * as sys from './sys/bpf.js';
import { NativeBuffer, scratch } from './sys/ffi.js';
import { BtfLoadError, LoaderError, MapIncompatibleError, NotSupportedError } from './errors.js';

export interface LoadCollectionOptions {
  /** Load only these programs (default: all). Maps are all created. */
  programs?: readonly string[];
  /** The kernel's BTF, for programs that attach by BTF id (tp_btf, fentry, lsm); loaded on demand otherwise. */
  kernelBtf?: Btf;
  /**
   * Values for `const volatile` globals (`.rodata*`), set before the map is
   * created and frozen (libbpf skeleton style): a number or bigint (stored
   * little-endian in the variable's size), a boolean, or the exact bytes.
   */
  constants?: Readonly<Record<string, number | bigint | boolean | Uint8Array>>;
  /** Per-map changes before creation, e.g. `{ flows: { maxEntries: 65536 } }`. */
  mapOverrides?: Readonly<Record<string, { maxEntries?: number; flags?: number }>>;
  /**
   * Where `__uint(pinning, LIBBPF_PIN_BY_NAME)` maps live: an existing pin
   * with the same definition is reused, otherwise the new map is pinned
   * there. Unlike libbpf (which defaults to /sys/fs/bpf) nothing is pinned
   * unless this is given.
   */
  pinRoot?: string;
}

/** Maps and programs loaded from one object. Closing it closes them all. */
export class Collection implements Disposable {
  private closed = false;
  constructor(
    readonly maps: Readonly<Record<string, BpfMap>>,
    readonly programs: Readonly<Record<string, Program>>,
    private readonly btfFd: number | undefined,
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of Object.values(this.programs)) p.close();
    for (const m of Object.values(this.maps)) m.close();
    if (this.btfFd !== undefined) sys.closeFd(this.btfFd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const hostLittle = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Loads an object's maps and programs into the kernel, as libbpf's
 * bpf_object__load does: the object's BTF (fixed up), maps (with BTF key and
 * value types, global data filled and `.rodata` frozen, map-in-map and prog
 * array initial values), then each program linked with its subprograms and
 * relocated to the map fds, with func_info and line_info. The spec is not
 * modified; a failure closes everything opened so far.
 */
export function loadCollection(spec: CollectionSpec, options: LoadCollectionOptions = {}): Collection {
  if ((spec.byteOrder === 'little') !== hostLittle) {
    throw new NotSupportedError(`the object is ${spec.byteOrder}-endian; this host is not`);
  }

  const maps: Record<string, BpfMap> = Object.create(null);
  const programs: Record<string, Program> = Object.create(null);
  let btfFd: number | undefined;
  const pinnedNow: string[] = [];
  try {
    btfFd = spec.btf ? loadBtf(spec) : undefined;
    createMaps(withOverrides(spec, options), maps, btfFd, options.pinRoot, pinnedNow);
    const kconfig = createKconfigMap(spec, maps, btfFd);
    const wanted = options.programs ?? Object.keys(spec.programs);
    let kernelBtf = options.kernelBtf;
    const kernel = () => (kernelBtf ??= runningKernelBtf());
    let symbols: ReadonlyMap<string, KallsymsEntry> | undefined;
    const kallsyms = () => (symbols ??= readKallsyms(typelessKsyms(spec)));
    for (const name of wanted) {
      const p = spec.programs[name];
      if (!p) throw new LoaderError('LOAD_OPTIONS', `no program named ${name}; have ${Object.keys(spec.programs).join(', ')}`);
      const attachBtfId = needsAttachBtfId(p) ? attachBtfIdFor(p, kernel()) : undefined;
      programs[name] = loadProgram(spec, p, maps, btfFd, attachBtfId, { kconfig, kernel, kallsyms, modules: options.kernelBtf ? undefined : runningModuleBtfs });
    }
    fillProgArrays(spec, maps, programs);
    return new Collection(maps, programs, btfFd);
  } catch (e) {
    for (const p of Object.values(programs)) p.close();
    for (const m of Object.values(maps)) m.close();
    if (btfFd !== undefined) sys.closeFd(btfFd);
    // As libbpf: pins this load made go with it (pins it reused stay).
    for (const path of pinnedNow) {
      try {
        unpin(path);
      } catch {
        // already gone: nothing to undo
      }
    }
    throw e;
  }
}

function loadBtf(spec: CollectionSpec): number {
  const { bytes, unresolvedDatasecs } = btfForKernel(spec);
  if (unresolvedDatasecs.length > 0) throw new NotSupportedError(`DATASECs without a section: ${unresolvedDatasecs.join(', ')}`);
  const mark = scratch.begin();
  try {
    const raw = scratch.copy(bytes);
    let fd = sys.btfLoad(raw);
    if (fd >= 0) return fd;
    const log = new NativeBuffer(1 << 20);
    try {
      fd = sys.btfLoad(raw, log);
      if (fd >= 0) return fd;
      const end = log.bytes.indexOf(0);
      throw new BtfLoadError(-fd, new TextDecoder().decode(log.bytes.subarray(0, end < 0 ? log.size : end)));
    } finally {
      log.free();
    }
  } finally {
    scratch.end(mark);
  }
}

/**
 * Map types the kernel refuses BTF key/value types for (its map_check_btf):
 * libbpf leaves the ids out for these too.
 */
const NO_BTF = new Set<number>([
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.stack_trace,
  MapType.array_of_maps,
  MapType.hash_of_maps,
  MapType.devmap,
  MapType.devmap_hash,
  MapType.cpumap,
  MapType.xskmap,
  MapType.sockmap,
  MapType.sockhash,
  MapType.queue,
  MapType.stack,
  MapType.ringbuf,
]);

function mapOptions(m: MapSpec, btfFd: number | undefined) {
  const withBtf = btfFd !== undefined && !NO_BTF.has(m.type) && (m.btfKeyTypeId !== 0 || m.btfValueTypeId !== 0);
  return {
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    // As libbpf: a perf event array without a size gets one slot per possible CPU.
    maxEntries: m.type === MapType.perf_event_array && m.maxEntries === 0 ? possibleCpus() : m.maxEntries,
    flags: m.flags,
    name: m.name,
    numaNode: m.numaNode,
    mapExtra: m.mapExtra,
    btfFd: withBtf ? btfFd : undefined,
    btfKeyTypeId: withBtf ? m.btfKeyTypeId : undefined,
    btfValueTypeId: withBtf ? m.btfValueTypeId : undefined,
  };
}

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

/** The spec's maps with constants written into `.rodata` copies and overrides applied (the spec itself untouched). */
function withOverrides(spec: CollectionSpec, options: LoadCollectionOptions): CollectionSpec {
  const constants = Object.entries(options.constants ?? {});
  const overrides = options.mapOverrides ?? {};
  if (constants.length === 0 && Object.keys(overrides).length === 0) return spec;
  for (const name of Object.keys(overrides)) if (!spec.maps[name]) throw new LoaderError('LOAD_OPTIONS', `mapOverrides: no map named ${name}`);
  const maps: Record<string, MapSpec> = Object.create(null);
  for (const [name, m] of Object.entries(spec.maps)) maps[name] = { ...m, ...overrides[name] };
  for (const [name, value] of constants) {
    const holder = Object.values(maps).find((m) => m.kind === 'rodata' && m.variables.some((v) => v.name === name));
    if (!holder) throw new LoaderError('LOAD_OPTIONS', `constants: no const volatile global named ${name} in .rodata`);
    const v = holder.variables.find((x) => x.name === name)!;
    const bytes = encodeConstant(name, value, v.size);
    const initial = new Uint8Array(holder.initialValue!);
    initial.set(bytes, v.offset);
    maps[holder.name] = { ...holder, initialValue: initial };
  }
  return { ...spec, maps };
}

function encodeConstant(name: string, value: number | bigint | boolean | Uint8Array, size: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new RangeError(`constants: ${name} is ${size} bytes, got ${value.length}`);
    return value;
  }
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  if (![1, 2, 4, 8].includes(size)) throw new RangeError(`constants: ${name} is ${size} bytes; give its bytes`);
  const bits = size * 8;
  if (BigInt.asIntN(bits, n) !== n && BigInt.asUintN(bits, n) !== n) throw new RangeError(`constants: ${value} does not fit ${name} (${size} bytes)`);
  const out = new Uint8Array(size);
  const u = BigInt.asUintN(bits, n);
  for (let i = 0; i < size; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** An existing pin for a BY_NAME map, if compatible; throws when it exists but differs. */
function reusePinned(m: MapSpec, path: string): BpfMap | undefined {
  if (!existsSync(path)) return undefined;
  const pinned = BpfMap.fromPin(path);
  const same =
    pinned.type === m.type && pinned.keySize === m.keySize && pinned.valueSize === m.valueSize &&
    pinned.maxEntries === m.maxEntries && pinned.flags === m.flags;
  if (!same) {
    pinned.close();
    throw new MapIncompatibleError(
      `map ${m.name}: the map pinned at ${path} differs from the object's definition (type ${m.typeName}, key ${m.keySize}, value ${m.valueSize}, max ${m.maxEntries}, flags 0x${m.flags.toString(16)})`,
    );
  }
  return pinned;
}

function createMaps(
  spec: CollectionSpec,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
  pinRoot: string | undefined,
  pinnedNow: string[],
): void {
  const all = Object.values(spec.maps);
  // Plain maps first: map-in-map slots refer to them.
  for (const m of all.filter((x) => !x.innerMap)) {
    const pinPath = pinRoot !== undefined && m.pinning === 1 ? join(pinRoot, m.name) : undefined;
    const reused = pinPath ? reusePinned(m, pinPath) : undefined;
    if (reused) {
      maps[m.name] = reused; // its contents are the pinned map's, not the object's initial values
      continue;
    }
    const map = wrap(`map ${m.name}`, () => BpfMap.create(mapOptions(m, btfFd)));
    maps[m.name] = map;
    if (pinPath) {
      map.pin(pinPath);
      pinnedNow.push(pinPath);
    }
    if (m.initialValue) {
      map.update(u32(0), m.initialValue);
    }
    if (m.freeze) map.freeze();
  }
  for (const m of all.filter((x) => x.innerMap)) {
    const template = wrap(`map ${m.name}: inner map`, () => BpfMap.create(mapOptions(m.innerMap!, btfFd)));
    try {
      maps[m.name] = wrap(`map ${m.name}`, () => BpfMap.create({ ...mapOptions(m, btfFd), innerMapFd: template.fd }));
    } finally {
      template.close();
    }
    for (const slot of m.slots) {
      if (slot.map === undefined) continue;
      maps[m.name]!.update(u32(slot.index), u32(maps[slot.map]!.fd));
    }
  }
}

function fillProgArrays(spec: CollectionSpec, maps: Record<string, BpfMap>, programs: Record<string, Program>): void {
  for (const m of Object.values(spec.maps)) {
    if (m.type !== MapType.prog_array) continue;
    for (const slot of m.slots) {
      const p = slot.program === undefined ? undefined : programs[slot.program];
      if (p) maps[m.name]!.update(u32(slot.index), u32(p.fd));
    }
  }
}

const PSEUDO_MAP_FD = 1;
const PSEUDO_MAP_VALUE = 2;

const PSEUDO_BTF_ID = 3;
const PSEUDO_KFUNC_CALL = 2;
const OP_CALL = 0x85;
const OP_LD_IMM64 = 0x18;
/** libbpf's POISON_CALL_KFUNC_BASE: an absent weak kfunc becomes a call to helper BASE + extern index. */
const POISON_CALL_KFUNC_BASE = 2002000000;

interface ExternContext {
  readonly kconfig: { map: BpfMap; layout: KconfigLayout } | undefined;
  readonly kernel: () => Btf;
  /** /proc/kallsyms for the object's typeless ksyms, read once, when one is relocated. */
  readonly kallsyms: () => ReadonlyMap<string, KallsymsEntry>;
  /** Kernel modules' BTF (split on vmlinux), read only if a CO-RE relocation needs it. */
  readonly modules?: () => readonly Btf[];
}

/** The `.kconfig` map: every kconfig extern's value, laid out as the BTF fix-up says, frozen. */
function createKconfigMap(spec: CollectionSpec, maps: Record<string, BpfMap>, btfFd: number | undefined): ExternContext['kconfig'] {
  const layout = kconfigLayout(spec);
  if (layout.slots.length === 0) return undefined;
  const datasec = spec.btf?.findByName('.kconfig', 'datasec');
  const map = wrap('map .kconfig', () =>
    BpfMap.create({
      type: MapType.array,
      keySize: 4,
      valueSize: Math.max(layout.size, 1),
      maxEntries: 1,
      flags: MapFlags.RDONLY_PROG | MapFlags.MMAPABLE,
      name: '.kconfig',
      btfFd: btfFd !== undefined && datasec ? btfFd : undefined,
      btfValueTypeId: btfFd !== undefined && datasec ? datasec.id : undefined,
    }),
  );
  maps['.kconfig'] = map;
  const value = new Uint8Array(Math.max(layout.size, 1));
  value.set(kconfigValue(layout));
  map.update(u32(0), value);
  map.freeze();
  return { map, layout };
}

/** Points an extern reference at the kernel: .kconfig map value, kernel variable, or kfunc. */
function relocateExtern(spec: CollectionSpec, view: DataView, at: number, name: string, ext: ExternContext): void {
  const e = spec.externs[name];
  if (!e) throw new LoaderError('SPEC_INVALID', `reference to unknown extern ${name}`);
  const regs = view.getUint8(at + 1);
  const setSrc = (src: number) => view.setUint8(at + 1, (regs & 0x0f) | (src << 4));
  if (e.kind === 'kconfig') {
    const slot = ext.kconfig?.layout.slots.find((s) => s.name === name);
    if (!ext.kconfig || !slot) throw new LoaderError('SPEC_INVALID', `extern ${name}: no .kconfig slot`);
    setSrc(PSEUDO_MAP_VALUE);
    view.setInt32(at + 4, ext.kconfig.map.fd, true);
    view.setInt32(at + 12, slot.offset, true);
    return;
  }
  if (e.isFunction) {
    const func = ext.kernel().findByName(name, 'func');
    if (!func && !e.weak) throw new NotSupportedError(`kfunc ${name} is not in the kernel's BTF`);
    const op = view.getUint8(at);
    if (op === OP_LD_IMM64) {
      // bpf_ksym_exists(kfunc): the kfunc's BTF id, or 0 for an absent weak one (the guarded code is then dead).
      if (func) setSrc(PSEUDO_BTF_ID);
      else setSrc(0);
      view.setInt32(at + 4, func?.id ?? 0, true);
      view.setInt32(at + 12, 0, true);
      return;
    }
    if (op !== OP_CALL) throw new LoaderError('SPEC_INVALID', `kfunc ${name} is referenced by something other than a call or bpf_ksym_exists()`);
    if (!func) {
      // An absent weak kfunc: a call to an invalid helper, which the verifier only
      // rejects if it can be reached (libbpf's poisoning, same number).
      setSrc(0);
      view.setInt32(at + 4, POISON_CALL_KFUNC_BASE + Object.keys(spec.externs).indexOf(name), true);
      view.setInt16(at + 2, 0, true);
      return;
    }
    setSrc(PSEUDO_KFUNC_CALL);
    view.setInt32(at + 4, func.id, true);
    view.setInt16(at + 2, 0, true);
    return;
  }
  if (isTypeless(spec, e)) {
    // `extern const void NAME __ksym;`: the symbol's address, from /proc/kallsyms (libbpf's way).
    const address = ext.kallsyms().get(name);
    if (address === 'ambiguous') throw new LoaderError('KSYM_AMBIGUOUS', `ksym ${name}: /proc/kallsyms lists several symbols of that name`);
    if (address === undefined && !e.weak) throw new NotSupportedError(`ksym ${name} is not in /proc/kallsyms`);
    if (address === 0n) throw new NotSupportedError(`ksym ${name}: /proc/kallsyms hides addresses (kptr_restrict); reading them needs root or CAP_SYSLOG`);
    const value = address ?? 0n; // an absent weak ksym reads as NULL
    setSrc(0);
    view.setUint32(at + 4, Number(value & 0xffffffffn), true);
    view.setUint32(at + 12, Number(value >> 32n), true);
    return;
  }
  const kernel = ext.kernel();
  const variable = kernel.findByName(name, 'var');
  if (!variable) {
    if (e.weak) {
      // An absent weak ksym reads as NULL.
      setSrc(0);
      view.setInt32(at + 4, 0, true);
      view.setInt32(at + 12, 0, true);
      return;
    }
    throw new NotSupportedError(`ksym ${name} is not a variable in the kernel's BTF (for a symbol's address alone, declare it \`extern const void ${name} __ksym;\`)`);
  }
  setSrc(PSEUDO_BTF_ID);
  view.setInt32(at + 4, variable.id, true);
  view.setInt32(at + 12, 0, true);
}

/** A ksym declared `extern const void NAME __ksym;`: no type to find in the kernel's BTF, only an address. */
function isTypeless(spec: CollectionSpec, e: ExternSpec): boolean {
  if (!spec.btf || e.btfTypeId === 0) return false;
  const v = spec.btf.type(e.btfTypeId);
  return v.kind === 'var' && spec.btf.resolve(v.type).kind === 'void';
}

/** The names of an object's typeless ksyms (what to look for in /proc/kallsyms). */
function typelessKsyms(spec: CollectionSpec): Set<string> {
  return new Set(Object.values(spec.externs).filter((e) => e.kind === 'ksym' && !e.isFunction && isTypeless(spec, e)).map((e) => e.name));
}

/** Points each map and extern reference of a linked program at the live object. */
function relocate(spec: CollectionSpec, linked: LinkedProgram, maps: Record<string, BpfMap>, ext: ExternContext): Uint8Array {
  const insns = linked.instructions.slice();
  const view = new DataView(insns.buffer);
  for (const r of linked.relocations) {
    const at = r.insn * 8;
    if (r.kind === 'map' || r.kind === 'map_value') {
      const map = maps[r.map];
      if (!map) throw new LoaderError('SPEC_INVALID', `instruction ${r.insn} refers to map ${r.map}, which was not created`);
      const regs = view.getUint8(at + 1);
      view.setUint8(at + 1, (regs & 0x0f) | ((r.kind === 'map' ? PSEUDO_MAP_FD : PSEUDO_MAP_VALUE) << 4));
      view.setInt32(at + 4, map.fd, true);
      view.setInt32(at + 12, r.kind === 'map' ? 0 : r.offset, true);
    } else {
      relocateExtern(spec, view, at, r.extern, ext);
    }
  }
  return insns;
}

function funcInfoBytes(linked: LinkedProgram): Uint8Array {
  const out = new DataView(new ArrayBuffer(linked.funcInfo.length * 8));
  linked.funcInfo.forEach((f, i) => {
    out.setUint32(i * 8, f.insn, true);
    out.setUint32(i * 8 + 4, f.typeId, true);
  });
  return new Uint8Array(out.buffer);
}

function lineInfoBytes(linked: LinkedProgram): Uint8Array {
  const out = new DataView(new ArrayBuffer(linked.lineInfo.length * 16));
  linked.lineInfo.forEach((l, i) => {
    out.setUint32(i * 16, l.insn, true);
    out.setUint32(i * 16 + 4, l.fileNameOff, true);
    out.setUint32(i * 16 + 8, l.lineOff, true);
    out.setUint32(i * 16 + 12, (l.line << 10) | (l.column & 0x3ff), true);
  });
  return new Uint8Array(out.buffer);
}

function loadProgram(
  spec: CollectionSpec,
  p: ProgramSpec,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
  attachBtfId: number | undefined,
  ext: ExternContext,
): Program {
  return wrap(`program ${p.name}`, () => {
    let linked = linkProgram(spec, p.name);
    let coreResults: readonly CoreResult[] = [];
    if (linked.coreRelos.length > 0) {
      // The object's guesses at kernel layouts, recomputed against this kernel's BTF.
      coreResults = calculateCoreRelos(spec.btf!, ext.kernel(), linked.coreRelos, { modules: ext.modules });
      linked = { ...linked, instructions: applyCoreRelos(linked.instructions, coreResults) };
    }
    try {
      return loadLinked(spec, p, linked, maps, btfFd, attachBtfId, ext);
    } catch (e) {
      const why = e instanceof VerifierError ? explainPoison(e.log, coreResults, spec) : undefined;
      if (e instanceof VerifierError && why) throw new VerifierError(e.program, e.errno, e.log, e.truncated, why);
      throw e;
    }
  });
}

/**
 * The invalid call a reached poison leaves in the log, explained: libbpf's
 * CO-RE poison (0xbad2310) by the relocation that failed at that
 * instruction, an absent weak kfunc's (2002000000 + extern index) by its name.
 */
export function explainPoison(log: string, core: readonly CoreResult[], spec: CollectionSpec): string | undefined {
  const invalid = /invalid func unknown#(\d+)/.exec(log);
  if (!invalid) return undefined;
  const id = Number(invalid[1]);
  if (id === CORE_POISON) {
    const at = [...log.matchAll(/^(\d+): \(85\) call unknown#195896080$/gm)].at(-1);
    const insn = at ? Number(at[1]) : undefined;
    const r = core.find((x) => x.insn === insn && 'poison' in x && x.poison !== undefined) as { kind: string; poison: string } | undefined;
    return r
      ? `CO-RE relocation (${r.kind}) at instruction ${insn} failed: ${r.poison}; the poisoned instruction was reached`
      : 'an instruction poisoned for a failed CO-RE relocation was reached';
  }
  if (id >= POISON_CALL_KFUNC_BASE && id < POISON_CALL_KFUNC_BASE + Object.keys(spec.externs).length) {
    const name = Object.keys(spec.externs)[id - POISON_CALL_KFUNC_BASE]!;
    return `kfunc ${name} is not in this kernel and its call can be reached (guard it with bpf_ksym_exists(${name}))`;
  }
  return undefined;
}

/** libbpf's marker for an instruction whose CO-RE relocation failed: `call 0xbad2310`. */
const CORE_POISON = 0xbad2310;

function loadLinked(
  spec: CollectionSpec,
  p: ProgramSpec,
  linked: LinkedProgram,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
  attachBtfId: number | undefined,
  ext: ExternContext,
): Program {
  return Program.load({
    type: p.type,
    expectedAttachType: p.attachType,
    name: p.name,
    license: p.license,
    kernelVersion: p.kernelVersion,
    instructions: relocate(spec, linked, maps, ext),
    btfFd,
    funcInfo: funcInfoBytes(linked),
    lineInfo: lineInfoBytes(linked),
    attachBtfId,
    flags: p.sleepable ? 1 << 4 /* BPF_F_SLEEPABLE */ : 0,
  });
}

function needsAttachBtfId(p: ProgramSpec): boolean {
  return p.type === ProgramType.tracing || p.type === ProgramType.lsm;
}

/** The kernel BTF id a tp_btf / fentry / fexit / lsm program attaches to. */
function attachBtfIdFor(p: ProgramSpec, kernel: Btf): number {
  const lookups: [string, 'typedef' | 'func'][] = p.sectionName.startsWith('tp_btf/')
    ? [[`btf_trace_${p.attachTo}`, 'typedef']]
    : p.type === ProgramType.lsm
      ? [[`bpf_lsm_${p.attachTo}`, 'func']]
      : [[p.attachTo, 'func']];
  for (const [name, kind] of lookups) {
    const t = kernel.findByName(name, kind);
    if (t) return t.id;
  }
  throw new NotSupportedError(`program ${p.name}: the kernel's BTF has no ${lookups.map(([n]) => n).join(' or ')} to attach to`);
}

/** Adds context (`program xdp_prog: ...`) to errors, keeping their class and fields. */
function wrap<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(context)) {
      e.message = `${context}: ${e.message}`;
    }
    throw e;
  }
}
