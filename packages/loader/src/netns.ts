/** withNetns: run an attach inside another network namespace. */
import { closeSync, openSync } from 'node:fs';
import { SyscallError } from './sys/errors.js';
import { setns } from './sys/ffi.js';

const CLONE_NEWNET = 0x40000000;

/**
 * Runs `fn` with the calling thread in another network namespace (a path such
 * as `/var/run/netns/<name>` or `/proc/<pid>/ns/net`), then moves it back.
 * Interface indexes in XDP and tcx attachments are resolved in the caller's
 * namespace, so this is how a program attaches to a pod's interface. Only
 * Node's main thread moves: keep `fn` synchronous.
 */
export function withNetns<T>(path: string, fn: () => T): T {
  const home = openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = openSync(path, 'r');
    try {
      const r = setns(target, CLONE_NEWNET);
      if (r < 0) throw new SyscallError('setns', -r, path);
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      const back = setns(home, CLONE_NEWNET);
      // Staying in the wrong namespace would silently misdirect everything after: fail loudly.
      if (back < 0) throw new SyscallError('setns (back to the original namespace)', -back);
    }
  } finally {
    closeSync(home);
  }
}
