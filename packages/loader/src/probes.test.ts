import { expect, it } from 'vitest';
import { MapType, ProgramType } from '@tsbpf/object';
import { helperSupported, mapTypeSupported, programTypeSupported } from './probes.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

describeNeeds([isRoot()], 'feature probes against this kernel (6.18)', () => {
  it('map types', () => {
    for (const t of [MapType.hash, MapType.array, MapType.ringbuf, MapType.lpm_trie, MapType.array_of_maps, MapType.queue, MapType.bloom_filter]) {
      expect(mapTypeSupported(t), String(t)).toBe(true);
    }
    expect(mapTypeSupported(999)).toBe(false);
  });

  it('program types', () => {
    for (const t of [ProgramType.xdp, ProgramType.socket_filter, ProgramType.sched_cls, ProgramType.cgroup_skb, ProgramType.tracepoint]) {
      expect(programTypeSupported(t), String(t)).toBe(true);
    }
    expect(programTypeSupported(999)).toBe(false);
    expect(() => programTypeSupported(ProgramType.tracing)).toThrow(/attach target/);
  });

  it('helpers per program type', () => {
    expect(helperSupported(ProgramType.xdp, 1)).toBe(true); // bpf_map_lookup_elem
    expect(helperSupported(ProgramType.xdp, 44)).toBe(true); // bpf_xdp_adjust_head
    expect(helperSupported(ProgramType.socket_filter, 44)).toBe(false); // not for socket filters
    expect(helperSupported(ProgramType.xdp, 9999)).toBe(false);
  });
});
