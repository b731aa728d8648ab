/**
 * The bpf() commands on any BPF object: pin, open a pin, and read its info
 * (bpf_prog_info, bpf_map_info, ...): openPinned is the one way a pinned
 * map or program is opened and described.
 */
import { begin, call, get, ownFd, put, withCString } from './attr.js';
import { closeFd } from './door.js';
import { NativeBuffer } from './ffi.js';
import { getField, getName, layoutEnd } from './fields.js';
import { objAttr as O, objInfoAttr as I, type Field } from './layouts.generated.js';

/** BPF_OBJ_PIN: pins the object at `path` on bpffs. */
export function objPin(fd: number, path: string): void {
  withCString(path, (pathname) => {
    begin('OBJ_PIN');
    put(O.pathname, pathname);
    put(O.bpf_fd, fd);
    call('OBJ_PIN', path);
  });
}

/** BPF_OBJ_GET: an fd for the object pinned at `path`. */
export function objGet(path: string, flags = 0): number {
  return withCString(path, (pathname) => {
    begin('OBJ_GET');
    put(O.pathname, pathname);
    put(O.file_flags, flags);
    return ownFd(call('OBJ_GET', path));
  });
}

/** BPF_OBJ_GET_INFO_BY_FD into `info`; returns the length the kernel filled. */
export function objGetInfoByFd(fd: number, info: NativeBuffer, context?: string): number {
  begin('OBJ_GET_INFO_BY_FD');
  put(I.bpf_fd, fd);
  put(I.info_len, info.size);
  put(I.info, info.address);
  call('OBJ_GET_INFO_BY_FD', context);
  return get(I.info_len);
}

/** An info struct as the kernel filled it: its fields read through the struct's generated layout. */
export interface Info {
  number(f: Field): number;
  name(f: Field): string;
}

/**
 * Reads the info of the object behind `fd` (as much of it as `layout`'s
 * fields reach: the kernel fills what both sides know) and hands it to
 * `read`, which must copy out what it keeps.
 */
export function readInfo<T>(fd: number, layout: Readonly<Record<string, Field>>, read: (info: Info) => T, context?: string): T {
  const buffer = new NativeBuffer(layoutEnd(layout));
  try {
    objGetInfoByFd(fd, buffer, context);
    return read({ number: (f) => getField(buffer.view, f), name: (f) => getName(buffer.bytes, f) });
  } finally {
    buffer.free();
  }
}

/**
 * Opens the object pinned at `path` and describes it from its info:
 * `make(fd, info)` builds the wrapper. The fd is closed if reading the info
 * or `make` fails.
 */
export function openPinned<T>(path: string, layout: Readonly<Record<string, Field>>, make: (fd: number, info: Info) => T): T {
  const fd = objGet(path);
  try {
    return readInfo(fd, layout, (info) => make(fd, info), path);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}
