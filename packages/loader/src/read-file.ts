/** Whole files read sequentially (sysfs serves a page per read). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Reads a whole file. Unlike `readFileSync`, it reads sequentially (position
 * `null`): sysfs serves one page per read(2), so `/sys/kernel/btf/vmlinux`
 * (5.5 MB) takes ~1,350 calls, and Node's positioned path costs about twice
 * as much per call (measured 2.8 ms against 1.5 ms here). Files whose size
 * stat does not know (procfs) grow the buffer as needed.
 */
export function readFileBytes(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    return readAll(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

export function readAll(fd: number, sizeHint: number): Uint8Array {
  let buf = Buffer.allocUnsafeSlow(sizeHint > 0 ? sizeHint + 1 : 64 * 1024);
  let length = 0;
  for (;;) {
    if (length === buf.length) {
      const bigger = Buffer.allocUnsafeSlow(buf.length * 2);
      buf.copy(bigger, 0, 0, length);
      buf = bigger;
    }
    const n = readSync(fd, buf, length, buf.length - length, null);
    if (n === 0) break;
    length += n;
  }
  // Only the bytes read are exposed; the slack of the unsafe allocation never is.
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}
