import { expect, it } from 'vitest';
import { AttachType, MapType, ProgramType } from '@tsbpf/object';
import { readKernelConfig } from './kconfig.js';
import { attachTypeSupported, helperSupported, mapTypeSupported, programTypeSupported } from './probes.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

describeNeeds([isRoot()], 'feature probes against this kernel (6.18)', () => {
  it('map types', () => {
    for (const t of [
      MapType.hash,
      MapType.array,
      MapType.ringbuf,
      MapType.lpm_trie,
      MapType.array_of_maps,
      MapType.queue,
      MapType.bloom_filter,
      MapType.stack_trace,
    ]) {
      expect(mapTypeSupported(t), String(t)).toBe(true);
    }
    expect(mapTypeSupported(999)).toBe(false);
  });

  it('program types', () => {
    // cgroup_sock_addr, cgroup_sockopt, sk_lookup and netfilter only load with an expected attach type: the probe passes one.
    for (const t of [
      ProgramType.xdp,
      ProgramType.socket_filter,
      ProgramType.sched_cls,
      ProgramType.cgroup_skb,
      ProgramType.tracepoint,
      ProgramType.cgroup_sock_addr,
      ProgramType.cgroup_sockopt,
      ProgramType.sk_lookup,
      ProgramType.netfilter,
    ]) {
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

  it('attach types (linkable here: tcx and the cgroup hooks; netkit as the kernel config says)', () => {
    for (const t of [
      AttachType.tcx_ingress,
      AttachType.tcx_egress,
      AttachType.cgroup_inet_ingress,
      AttachType.cgroup_inet4_connect,
      AttachType.cgroup_sock_ops,
    ]) {
      expect(attachTypeSupported(t), String(t)).toBe(true);
    }
    // netkit links exist only with CONFIG_NETKIT (not set on this VM's kernel): the probe agrees with the config.
    expect(attachTypeSupported(AttachType.netkit_primary)).toBe(
      readKernelConfig().get('CONFIG_NETKIT') === 'y' || readKernelConfig().get('CONFIG_NETKIT') === 'm',
    );
    expect(() => attachTypeSupported(AttachType.trace_fentry)).toThrow(/cannot be probed without a target/);
    expect(() => attachTypeSupported(AttachType.xdp)).toThrow(/cannot be probed without a target/);
    expect(() => attachTypeSupported(250)).toThrow(/cannot be probed/);
  });
});
