/**
 * The child process of packages/loader/src/sys/bpf-stub.test.ts (bundled
 * from the sources): says which way the hot path reaches the kernel in a
 * process started with the test's TSBPF_BPF_STUBS, and uses a map through
 * it. Prints one JSON line.
 */
import { BpfMap } from '@tsbpf/loader';
import { bpfHotPath } from '../../packages/loader/src/sys/ffi.js';

const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 4, name: 'stub_child' });
try {
  const key = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
  m.update(key(1), new Uint8Array([0x99, 0, 0, 0, 0, 0, 0, 0]));
  const found = m.lookup(key(1))![0]!.toString(16);
  const missing = m.lookup(key(2)) === undefined;
  const deleted = [m.delete(key(1)), m.delete(key(1))];
  console.log(JSON.stringify({ path: bpfHotPath(), found, missing, deleted }));
} finally {
  m.close();
}
