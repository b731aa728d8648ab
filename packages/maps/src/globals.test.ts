import { closeSync, openSync } from 'node:fs';
import { expect, it } from 'vitest';
import { attach, loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { Globals } from './globals.js';
import { describeNeeds, hasFile, isRoot } from '../../../test/support/env.js';

describeNeeds([isRoot(), hasFile('/sys/kernel/tracing/events/syscalls')], 'globals by name', () => {
  it('reads and writes .data/.bss by name, reads .rodata, and the program sees the writes', () => {
    const spec = parseCollectionSpec(readFixture('global_data.bpf.o'));
    using c = loadCollection(spec, { constants: { threshold: 0 } });
    const g = new Globals(c, spec);
    expect(g.names()).toEqual(expect.arrayContaining(['hits', 'threshold', 'greeting', 'total', 'scratch', 'custom_counter', 'custom_limit']));
    expect(g.get('hits')).toBe(1);
    expect(g.get('greeting')).toBe('hello');
    expect(g.get('threshold')).toBe(0);
    expect(g.get('custom_counter')).toBe(7);
    g.set('hits', 100);
    expect(g.get('hits')).toBe(100);
    expect(() => g.set('threshold', 5)).toThrow(/frozen after load/);
    {
      // count_openat: hits++; if (hits > threshold && greeting[0] == 'h') total += hits;
      using _l = attach(c.programs.count_openat!, spec.programs.count_openat!);
      closeSync(openSync('/proc/self/status', 'r'));
    }
    expect(g.get<number>('hits')).toBeGreaterThan(100);
    expect(g.get<bigint>('total')).toBeGreaterThan(100n);
    expect(g.get('scratch')).toEqual(expect.any(Uint32Array));

    // Through the maps' own memory: what we read is what a lookup reads, and a refused value writes nothing.
    const data = c.maps['.data']!;
    const viaLookup = new DataView(data.lookup(new Uint8Array(4))!.buffer);
    const hitsAt = spec.maps['.data']!.variables.find((v) => v.name === 'hits')!.offset;
    expect(g.get('hits')).toBe(viaLookup.getInt32(hitsAt, true));
    const before = g.get('hits');
    expect(() => g.set('hits', 2 ** 40)).toThrow();
    expect(g.get('hits')).toBe(before);
    c.close();
    expect(() => g.get('hits')).toThrow(expect.objectContaining({ code: 'CLOSED' })); // never a read of unmapped memory
  });
});
