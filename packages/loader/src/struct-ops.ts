/**
 * struct_ops in the kernel: a collection's struct_ops maps created against
 * the kernel's BTF (`bpf_struct_ops_<name>` value type), their values filled
 * with data members and program fds once the programs are loaded, and
 * attachStructOps, which registers a map (a BPF_MAP_UPDATE_ELEM, or for
 * `.struct_ops.link` maps a struct_ops link whose update() swaps the map).
 */
import { AttachType, LinkError, MapType, structOpsLayouts, withContext, type Btf, type CollectionSpec, type StructOpsLayout } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import { mapInfoByFd } from './info.js';
import { mapFromId } from './inventory.js';
import { Link } from './link.js';
import { BpfMap } from './map.js';
import { Program } from './program.js';
import * as sys from './sys/bpf.js';

const hostLittle = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const KEY = new Uint8Array(4);

/** What attachStructOps needs of a map loadCollection made: its layout and the programs that fill it. */
const made = new WeakMap<BpfMap, { readonly layout: StructOpsLayout; readonly programs: readonly Program[] }>();

/** The spec's struct_ops layouts for this kernel, and for each of their programs its `attach_btf_id` and member index; undefined without struct_ops maps. */
export function structOpsFacts(spec: CollectionSpec, kernelBtf: () => Btf): ReturnType<typeof structOpsLayouts> | undefined {
  if (!Object.values(spec.maps).some((m) => m.type === MapType.struct_ops)) return undefined;
  return structOpsLayouts(spec, kernelBtf());
}

/** Creates each struct_ops map into `maps` (value type and size the kernel's; the object's BTF fd, which the kernel requires). */
export function createStructOpsMaps(layouts: readonly StructOpsLayout[], spec: CollectionSpec, maps: Record<string, BpfMap>, btfFd: number | undefined): void {
  for (const layout of layouts) {
    const m = spec.maps[layout.map]!;
    if (btfFd === undefined) throw new LinkError('SPEC_INVALID', `map ${m.name}: struct_ops maps need the object's BTF loaded`);
    maps[m.name] = withContext(`map ${m.name}`, () =>
      BpfMap.create({
        type: MapType.struct_ops,
        keySize: 4,
        valueSize: layout.valueSize,
        maxEntries: 1,
        flags: m.flags,
        name: m.name,
        btfFd,
        btfVmlinuxValueTypeId: layout.valueTypeId,
      }),
    );
  }
}

/**
 * Once the programs are loaded: each struct_ops map remembers its programs
 * for attachStructOps, and a `.struct_ops.link` map gets its value now (the
 * kernel checks it, and registers nothing until a link is made). A map
 * whose program was left out of the load is an error, as for prog arrays.
 */
export function fillStructOpsMaps(layouts: readonly StructOpsLayout[], maps: Record<string, BpfMap>, programs: Record<string, Program>): void {
  for (const layout of layouts) {
    const progs = layout.programs.map((slot) => {
      const p = programs[slot.program];
      if (!p) {
        throw new LoaderError(
          'LOAD_OPTIONS',
          `map ${layout.map}: member ${slot.member} is set to program ${slot.program}, which is not being loaded (add it to \`programs\`)`,
        );
      }
      return p;
    });
    const map = maps[layout.map]!;
    made.set(map, { layout, programs: progs });
    if (layout.link) map.update(KEY, valueOf(layout, progs));
  }
}

/** The map's value: the data members, and each function pointer set to its program's fd. */
function valueOf(layout: StructOpsLayout, programs: readonly Program[]): Uint8Array {
  const value = layout.value.slice();
  const view = new DataView(value.buffer);
  layout.programs.forEach((slot, i) => view.setBigUint64(slot.offset, BigInt(programs[i]!.fd), hostLittle));
  return value;
}

/**
 * A struct_ops map registered by writing its value (`.struct_ops`): the
 * kernel keeps it registered, even after this process exits, until close()
 * deletes the value. It holds a map fd of its own, so closing the collection
 * first does not lose the way to unregister.
 */
export class StructOpsRegistration implements Disposable {
  private closed = false;
  constructor(
    private readonly map: BpfMap,
    readonly description: string,
  ) {}

  /** Unregisters (BPF_MAP_DELETE_ELEM); a second call does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.map.delete(KEY);
    } finally {
      this.map.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A struct_ops link (`.struct_ops.link` maps): closing it unregisters; update() swaps in another map of the same struct_ops type. */
export class StructOpsLink extends Link {
  /**
   * BPF_LINK_UPDATE with a map: the kernel's ops are the new map's from now
   * on (for tcp_congestion_ops, sockets using the name move to it; the new
   * map must have the same name). With `expected`, only if that map is the
   * one registered now. A program is refused: struct_ops links hold maps.
   */
  override update(map: BpfMap | Program, options: { expected?: BpfMap | Program } = {}): void {
    if (!(map instanceof BpfMap) || (options.expected !== undefined && !(options.expected instanceof BpfMap))) {
      throw new LoaderError('INVALID_ARGUMENT', `${this.description}: a struct_ops link is updated with a struct_ops map, not a program`);
    }
    sys.linkUpdate(this.fd, map.fd, options.expected?.fd, `${this.description}: update to map ${map.name}`);
  }
}

/**
 * Registers a struct_ops map that loadCollection made: a `.struct_ops.link`
 * map through a BPF_LINK_CREATE struct_ops link (closing it unregisters),
 * a `.struct_ops` map by writing its value (the registration's close()
 * unregisters). The map's programs must still be open.
 */
export function attachStructOps(map: BpfMap): StructOpsLink | StructOpsRegistration {
  const context = `map ${map.name}: register struct_ops`;
  const fd = map.fd; // CLOSED first
  const entry = made.get(map);
  if (!entry) {
    throw new LoaderError('INVALID_ARGUMENT', `${context}: not a struct_ops map made by loadCollection (its programs and layout are unknown)`);
  }
  const { layout, programs } = entry;
  const description = `struct_ops ${layout.typeName} (map ${map.name})`;
  if (layout.link) {
    const link = sys.linkCreate({ progFd: fd, target: 0, attachType: AttachType.struct_ops }, context);
    return new StructOpsLink(link, description);
  }
  const value = valueOf(layout, programs); // CLOSED for a closed program, before the kernel sees a stale fd
  const own = mapFromId(mapInfoByFd(fd, context).id);
  try {
    own.update(KEY, value);
  } catch (e) {
    own.close();
    throw e;
  }
  return new StructOpsRegistration(own, description);
}
