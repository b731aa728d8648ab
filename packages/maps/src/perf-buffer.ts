/**
 * PerfBuffer<T>: the records of a perf event array, decoded, with the CPU
 * each came from.
 */
import { PerfEventArrayReader, type BpfMap } from '@tsbpf/loader';
import type { Codec } from './codec.js';
import { RecordStream, type RecordStreamOptions } from './record-stream.js';

export interface PerfBufferOptions extends RecordStreamOptions {
  /** Ring pages per CPU (a power of two; default 8). */
  pagesPerCpu?: number;
}

/**
 * Records a program sends with `bpf_perf_event_output` to a perf event
 * array, decoded, with the CPU each came from: an async iterable and
 * `drain()`. `lost` counts what the kernel dropped when a ring was full.
 */
export class PerfBuffer<T> extends RecordStream<T, { cpu: number; record: T }> {
  constructor(map: BpfMap, codec: Codec<T>, options: PerfBufferOptions = {}) {
    const reader = new PerfEventArrayReader(map, { pagesPerCpu: options.pagesPerCpu });
    // Records follow an 8-byte header and a 4-byte size: not 8-aligned, no words to attach.
    super(reader, codec, options, 'perf record', false);
    this.perfReader = reader;
  }

  private readonly perfReader: PerfEventArrayReader;

  get lost(): number {
    return this.perfReader.lost;
  }

  protected record(record: T, cpu: number | undefined): { cpu: number; record: T } {
    return { cpu: cpu ?? 0, record };
  }
}
