/**
 * The kernel's inventory of BPF objects, whoever loaded them: ids of
 * programs, maps, links and BTF objects (BPF_*_GET_NEXT_ID), each opened by
 * id (BPF_*_GET_FD_BY_ID) as the loader's own Program, BpfMap and Link, or
 * described (info.ts, link-info.ts) and closed again; a map's or program's
 * BTF parsed from the kernel's copy.
 */
import { Btf } from '@tsbpf/object';
import { btfInfoByFd, mapInfoByFd, programInfoByFd, type BtfInfo, type MapInfo, type ProgramInfo, type ProgramInfoOptions, type ProgramCode } from './info.js';
import { linkInfoByFd, type LinkInfo } from './link-info.js';
import { runningKernelBtf } from './kernel-btf.js';
import { Link } from './link.js';
import { BpfMap } from './map.js';
import { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { LoaderError } from './errors.js';

export type { ObjectKind } from './sys/id-cmds.js';

const NAMES: Record<sys.ObjectKind, string> = { prog: 'program', map: 'map', btf: 'BTF', link: 'link' };

/** Every id of that kind the kernel has now, ascending (objects come and go meanwhile). */
export function* objectIds(kind: sys.ObjectKind): Generator<number> {
  for (let id = sys.nextId(kind, 0); id !== undefined; id = sys.nextId(kind, id)) yield id;
}

/** An fd of the object with that id (SyscallError ENOENT when there is none). The caller closes it. */
export function openById(kind: sys.ObjectKind, id: number): number {
  if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) {
    throw new LoaderError('INVALID_ARGUMENT', `${NAMES[kind]} id ${id}: ids are integers from 1 to 4294967295`);
  }
  return sys.fdById(kind, id, `${NAMES[kind]} id ${id}`);
}

/** Runs `read` on an fd of the object `id`, and closes it. */
export function withObjectFd<T>(kind: sys.ObjectKind, id: number, read: (fd: number) => T): T {
  const fd = openById(kind, id);
  try {
    return read(fd);
  } finally {
    sys.closeFd(fd);
  }
}

/**
 * Describes every object of a kind: `read(fd)` for each id; objects that
 * went away between the id walk and the open are left out.
 */
function describeAll<T>(kind: sys.ObjectKind, read: (fd: number, id: number) => T): T[] {
  const out: T[] = [];
  for (const id of objectIds(kind)) {
    try {
      out.push(withObjectFd(kind, id, (fd) => read(fd, id)));
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'ENOENT') continue;
      throw e;
    }
  }
  return out;
}

/** Every program loaded now, described. */
export function listPrograms(): ProgramInfo[] {
  return describeAll('prog', (fd, id) => stripCode(programInfoByFd(fd, {}, `program id ${id}`)));
}

/** Every map, described. */
export function listMaps(): MapInfo[] {
  return describeAll('map', (fd, id) => mapInfoByFd(fd, `map id ${id}`));
}

/** Every link, described with its target. */
export function listLinks(): LinkInfo[] {
  return describeAll('link', (fd, id) => linkInfoByFd(fd, `link id ${id}`));
}

/** Every BTF object (vmlinux, modules', programs' and maps'), described. */
export function listBtf(): BtfInfo[] {
  return describeAll('btf', (fd, id) => btfInfoByFd(fd, false, `BTF id ${id}`));
}

/** The program with that id, described; `options` asks for its code (xlated, jited, func/line info). */
export function programInfo(id: number, options: ProgramInfoOptions = {}): ProgramInfo & { code: ProgramCode } {
  return withObjectFd('prog', id, (fd) => programInfoByFd(fd, options, `program id ${id}`));
}

/** The map with that id, described. */
export function mapInfo(id: number): MapInfo {
  return withObjectFd('map', id, (fd) => mapInfoByFd(fd, `map id ${id}`));
}

/** The link with that id, described. */
export function linkInfo(id: number): LinkInfo {
  return withObjectFd('link', id, (fd) => linkInfoByFd(fd, `link id ${id}`));
}

/** The BTF object with that id, described (no data). */
export function btfInfo(id: number): BtfInfo {
  return withObjectFd('btf', id, (fd) => btfInfoByFd(fd, false, `BTF id ${id}`));
}

/**
 * The BTF object with that id, parsed: a program's or map's BTF stands
 * alone; a kernel module's is split on vmlinux (the running kernel's).
 */
export function btfFromId(id: number): Btf {
  const info = withObjectFd('btf', id, (fd) => btfInfoByFd(fd, true, `BTF id ${id}`));
  const data = info.data ?? new Uint8Array(0);
  if (info.kernel && info.name !== 'vmlinux') return Btf.parse(data, { base: runningKernelBtf() });
  return Btf.parse(data);
}

// Program and BpfMap keep their constructors private (their own openers are
// load, create and fromPin); an object opened by id is built through the
// same constructor fromPin uses, with what the kernel says about it.
type ProgramConstructor = new (fd: number, name: string, type: number) => Program;
type MapConstructor = new (fd: number, type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, name: string) => BpfMap;

/** Program.fromId: the program with that kernel id, as a Program of this process (its own fd; close() leaves the program loaded if others hold it). */
export function programFromId(id: number): Program {
  const fd = openById('prog', id);
  try {
    const info = programInfoByFd(fd, {}, `program id ${id}`);
    return new (Program as unknown as ProgramConstructor)(fd, info.name, info.type);
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
}

/** BpfMap.fromId: the map with that kernel id, as a BpfMap of this process. */
export function mapFromId(id: number): BpfMap {
  const fd = openById('map', id);
  try {
    const i = mapInfoByFd(fd, `map id ${id}`);
    return new (BpfMap as unknown as MapConstructor)(fd, i.type, i.keySize, i.valueSize, i.maxEntries, i.flags, i.name);
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
}

/** Link.fromId: the link with that kernel id (closing it does not detach what others hold; detach() does). */
export function linkFromId(id: number): Link {
  const fd = openById('link', id);
  try {
    const info = linkInfoByFd(fd, `link id ${id}`);
    return new Link(fd, `link id ${id} (${info.typeName})`);
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
}

function stripCode(info: ProgramInfo & { code: ProgramCode }): ProgramInfo {
  const { code: _code, ...rest } = info;
  return rest;
}
