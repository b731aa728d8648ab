/**
 * The object's BTF into the kernel (BPF_BTF_LOAD), fixed up for it by
 * @tsbpf/object's btfForKernel: first without a log, and only on failure
 * again with one, for the BtfLoadError; and the fd's release, by its owner's
 * close() or, for an owner dropped unclosed, a finalizer.
 */
import { btfForKernel, type CollectionSpec } from '@tsbpf/object';
import { BtfLoadError, NotSupportedError } from './errors.js';
import * as sys from './sys/bpf.js';
import { NativeBuffer } from './sys/ffi.js';
import { scratch } from './sys/native-pools.js';

/** Loads the spec's BTF (the spec must have BTF); returns the fd. */
export function loadBtf(spec: CollectionSpec): number {
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

/** BTF fds whose owner (a Collection) was dropped without close(): closed once it is collected. */
const dropped = new FinalizationRegistry<number>((fd) => sys.closeFd(fd));

/** Ties `fd` to `owner`: closed by closeBtf(owner, fd), or when `owner` is collected unclosed. */
export function closeBtfWhenDropped(owner: object, fd: number): void {
  dropped.register(owner, fd, owner);
}

/** Closes `fd` now, once: the finalizer will not (the number may be another file's by then). */
export function closeBtf(owner: object, fd: number): void {
  dropped.unregister(owner);
  sys.closeFd(fd);
}
