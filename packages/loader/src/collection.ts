/**
 * loadCollection: an object's BTF, maps (struct_ops ones fitted to the
 * kernel's BTF) and programs into the kernel, in libbpf's order, as one
 * transaction (a failure closes what was opened and takes back the pins it
 * made; with pin-by-name maps, under the pin root's lock); Collection: what
 * it loaded, closed together.
 */
import { typelessKsyms, withLoadOverrides, type Btf, type CollectionSpec, type KsymAddress, type LoadOverrides } from '@tsbpf/object';
import { PIN_BY_NAME, createKconfigMap, createMaps, fillProgArrays } from './create-maps.js';
import { LoaderError, NotSupportedError } from './errors.js';
import { readKallsyms } from './kallsyms.js';
import { runningKernelBtf, runningModuleBtfs } from './kernel-btf.js';
import { closeBtf, closeBtfWhenDropped, loadBtf } from './load-btf.js';
import { loadProgram } from './load-program.js';
import { createStructOpsMaps, fillStructOpsMaps, structOpsFacts } from './struct-ops.js';
import { noteProgramMaps } from './program-maps.js';
import type { BpfMap } from './map.js';
import { DEFAULT_PIN_LOCK_TIMEOUT_MS, takeBackPins, withPinRootLock, type PinMade } from './pin-by-name.js';
import type { Program } from './program.js';
import type { BpfToken } from './token.js';
import * as sys from './sys/bpf.js';

export interface LoadCollectionOptions extends LoadOverrides {
  /** Load only these programs (default: all). Maps are all created. */
  programs?: readonly string[];
  /** The kernel's BTF, for programs that attach by BTF id (tp_btf, fentry, lsm); loaded on demand otherwise. */
  kernelBtf?: Btf;
  /**
   * Where `__uint(pinning, LIBBPF_PIN_BY_NAME)` maps live: an existing pin
   * with the same definition is reused, otherwise the new map is pinned
   * there. Unlike libbpf (which defaults to /sys/fs/bpf) nothing is pinned
   * unless this is given. Loads into one pin root, in any tsbpf process,
   * take turns (a lock on the directory), so that concurrent loads agree on
   * one map per name, and a failed load takes back only pins nobody adopted.
   */
  pinRoot?: string;
  /** How long to wait (ms) for another process's load into the same `pinRoot` before failing with `PIN_ROOT_BUSY`. Default 60,000. */
  pinLockTimeout?: number;
  /**
   * A BPF token (BpfToken.create on a bpffs mounted with delegation options)
   * for loading without CAP_BPF in a user namespace: the BTF, maps and
   * programs are created with it. The token must stay open during the load
   * only; links need none of their own.
   */
  token?: BpfToken;
}

/** Maps and programs loaded from one object. Closing it closes them all. */
export class Collection implements Disposable {
  private closed = false;
  constructor(
    readonly maps: Readonly<Record<string, BpfMap>>,
    readonly programs: Readonly<Record<string, Program>>,
    private readonly btfFd: number | undefined,
  ) {
    if (btfFd !== undefined) closeBtfWhenDropped(this, btfFd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of Object.values(this.programs)) p.close();
    for (const m of Object.values(this.maps)) m.close();
    if (this.btfFd !== undefined) closeBtf(this, this.btfFd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether a spec's record (maps, externs: null-prototype or plain, own keys only) has any entry. */
function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
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
  const timeout = options.pinLockTimeout ?? DEFAULT_PIN_LOCK_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !(timeout >= 0) || timeout > 2 ** 31 - 1) {
    throw new LoaderError('LOAD_OPTIONS', `pinLockTimeout must be a number of milliseconds from 0 to 2147483647, not ${String(options.pinLockTimeout)}`);
  }
  const overridden = withLoadOverrides(spec, options); // the spec itself when there is nothing to override
  // A plain load (no pin root or token) calls loadUnlocked straight: no closure.
  const root = options.pinRoot;
  if (root === undefined && !options.token) return loadUnlocked(spec, overridden, options);
  const load = () =>
    root !== undefined && Object.values(overridden.maps).some((m) => m.pinning === PIN_BY_NAME)
      ? withPinRootLock(root, timeout, () => loadUnlocked(spec, overridden, options))
      : loadUnlocked(spec, overridden, options);
  return options.token ? options.token.use(load) : load();
}

/** loadCollection's transaction, the pin root's lock (if any) held. */
function loadUnlocked(spec: CollectionSpec, overridden: CollectionSpec, options: LoadCollectionOptions): Collection {
  // Null-prototype records with fast properties: Object.create(null) makes a
  // dictionary, whose Object.values/keys/entries (each several times a load)
  // take V8's slow path.
  const maps: Record<string, BpfMap> = Object.setPrototypeOf({}, null);
  const programs: Record<string, Program> = Object.setPrototypeOf({}, null);
  let btfFd: number | undefined;
  const pinnedNow: PinMade[] = [];
  try {
    btfFd = spec.btf ? loadBtf(spec) : undefined;
    // The kernel's BTF and /proc/kallsyms are read once, and only if a map or program needs them.
    let kernelBtf = options.kernelBtf;
    let addresses: ReadonlyMap<string, KsymAddress> | undefined;
    // An object without maps or externs (a compare each) skips their steps.
    const anyMaps = hasKeys(overridden.maps);
    const structOps = anyMaps ? structOpsFacts(overridden, () => (kernelBtf ??= runningKernelBtf())) : undefined;
    if (anyMaps) createMaps(overridden, maps, btfFd, options.pinRoot, pinnedNow);
    if (structOps) createStructOpsMaps(structOps.maps, overridden, maps, btfFd);
    const kconfig = hasKeys(spec.externs) ? createKconfigMap(spec, maps, btfFd) : undefined;
    const mapFds = new Map<string, number>();
    for (const name in maps) mapFds.set(name, maps[name]!.fd);
    const facts = {
      structOps: structOps?.programs,
      btfFd,
      mapFds,
      kconfig,
      kernelBtf: () => (kernelBtf ??= runningKernelBtf()),
      kallsyms: () => (addresses ??= readKallsyms(typelessKsyms(spec))),
      modules: options.kernelBtf ? undefined : runningModuleBtfs,
    };
    for (const name of options.programs ?? Object.keys(spec.programs)) {
      const p = spec.programs[name];
      if (!p) throw new LoaderError('LOAD_OPTIONS', `no program named ${name}; have ${Object.keys(spec.programs).join(', ')}`);
      programs[name] = loadProgram(spec, p, facts);
    }
    if (anyMaps) fillProgArrays(spec, maps, programs);
    if (structOps) fillStructOpsMaps(structOps.maps, maps, programs);
    // Nothing to note for a collection without maps: programMaps answers undefined, which its one reader (USDT) takes as no maps.
    if (hasKeys(maps)) noteProgramMaps(Object.values(programs), maps);
    const collection = new Collection(maps, programs, undefined);
    // The BTF's fd is closed here, as cilium/ebpf does after a load: the
    // kernel keeps the BTF while a map or program loaded with it lives, and
    // nothing of the collection uses the fd again (no finalizer to register).
    const fd = btfFd;
    btfFd = undefined; // closed once, whatever happens
    if (fd !== undefined) sys.closeFd(fd);
    return collection;
  } catch (e) {
    for (const p of Object.values(programs)) p.close();
    for (const m of Object.values(maps)) m.close();
    if (btfFd !== undefined) sys.closeFd(btfFd);
    // Pins this load made go with it (pins it adopted stay). The lock kept
    // every other tsbpf load from adopting them meanwhile; takeBackPins
    // leaves a pin that no longer holds our map.
    takeBackPins(pinnedNow);
    throw e;
  }
}
