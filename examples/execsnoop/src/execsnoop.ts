import { fileURLToPath } from 'node:url';
import { compile } from '@tsbpf/compiler';
import { attach, loadCollection, type Collection, type Link } from '@tsbpf/loader';
import { RingBuffer, cstring, struct, u32 } from '@tsbpf/maps';
import { parseCollectionSpec } from '@tsbpf/object';

export interface ExecEvent {
  pid: number;
  ppid: number;
  comm: string;
  filename: string;
}

const eventCodec = struct({ pid: u32, ppid: u32, comm: cstring(16), filename: cstring(128) });

export interface Execsnoop extends AsyncIterable<ExecEvent>, Disposable {
  close(): void;
}

/**
 * Compiles (cached) and loads the probe, attaches it to the execve
 * tracepoint and yields each execution until closed or aborted.
 */
export async function execsnoop(options: { signal?: AbortSignal } = {}): Promise<Execsnoop> {
  const source = fileURLToPath(new URL('../src/execsnoop.bpf.c', import.meta.url));
  const { object } = await compile({ source, vmlinux: true });
  const spec = parseCollectionSpec(object);
  const collection: Collection = loadCollection(spec);
  let link: Link | undefined;
  let ring: RingBuffer<ExecEvent> | undefined;
  try {
    ring = new RingBuffer(collection.maps.events!, eventCodec, { signal: options.signal, pollMs: 50 });
    link = attach(collection.programs.on_execve!, spec.programs.on_execve!);
  } catch (e) {
    ring?.close();
    collection.close();
    throw e;
  }
  const close = () => {
    link?.close();
    ring?.close();
    collection.close();
  };
  return {
    [Symbol.asyncIterator]: () => ring![Symbol.asyncIterator](),
    close,
    [Symbol.dispose]: close,
  };
}
