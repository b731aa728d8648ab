import { describe, expect, it } from 'vitest';
import { sectionDef } from './section-defs.js';

describe('sectionDef (libbpf SEC() conventions)', () => {
  it.each([
    ['xdp', 'xdp', 'xdp', ''],
    ['xdp.frags', 'xdp', 'xdp', ''],
    ['xdp/devmap', 'xdp', 'xdp_devmap', ''],
    ['tc', 'sched_cls', undefined, ''],
    ['classifier', 'sched_cls', undefined, ''],
    ['tcx/ingress', 'sched_cls', 'tcx_ingress', ''],
    ['tcx/egress', 'sched_cls', 'tcx_egress', ''],
    ['cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress', ''],
    ['cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress', ''],
    ['cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect', ''],
    ['cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect', ''],
    ['cgroup/sendmsg4', 'cgroup_sock_addr', 'cgroup_udp4_sendmsg', ''],
    ['cgroup/sock_create', 'cgroup_sock', 'cgroup_inet_sock_create', ''],
    ['socket', 'socket_filter', undefined, ''],
    ['sk_msg', 'sk_msg', 'sk_msg_verdict', ''],
    ['sockops', 'sock_ops', 'cgroup_sock_ops', ''],
    ['tracepoint/syscalls/sys_enter_execve', 'tracepoint', undefined, 'syscalls/sys_enter_execve'],
    ['tp/sched/sched_switch', 'tracepoint', undefined, 'sched/sched_switch'],
    ['raw_tp/sys_enter', 'raw_tracepoint', undefined, 'sys_enter'],
    ['tp_btf/sched_switch', 'tracing', 'trace_raw_tp', 'sched_switch'],
    ['kprobe/do_sys_open', 'kprobe', undefined, 'do_sys_open'],
    ['kretprobe/do_sys_open', 'kprobe', undefined, 'do_sys_open'],
    ['uprobe', 'kprobe', undefined, ''],
    ['uretprobe//bin/true:main', 'kprobe', undefined, '/bin/true:main'],
    ['fentry/do_unlinkat', 'tracing', 'trace_fentry', 'do_unlinkat'],
    ['fexit/do_unlinkat', 'tracing', 'trace_fexit', 'do_unlinkat'],
    ['lsm/file_open', 'lsm', 'lsm_mac', 'file_open'],
    ['perf_event', 'perf_event', undefined, ''],
    ['netfilter', 'netfilter', 'netfilter', ''],
    ['iter/task', 'tracing', 'trace_iter', 'task'],
    ['syscall', 'syscall', undefined, ''],
  ])('%s → %s / %s', (name, type, attach, attachTo) => {
    const def = sectionDef(name);
    expect(def?.typeName).toBe(type);
    expect(def?.attachTypeName).toBe(attach);
    expect(def?.attachTo).toBe(attachTo);
  });

  it('marks sleepable and BTF-targeted sections', () => {
    expect(sectionDef('fentry.s/foo')).toMatchObject({ sleepable: true, needsBtfTarget: true });
    expect(sectionDef('lsm.s/bprm_check_security')).toMatchObject({ sleepable: true, typeName: 'lsm' });
    expect(sectionDef('xdp.frags')).toMatchObject({ xdpFrags: true });
  });

  it.each(['nonsense', 'xdpfoo', 'tracepointx/a', 'cgroup_skb', 'cgroup_skb/sideways', '', 'kprobe.multiX'])('rejects %j', (name) =>
    expect(sectionDef(name)).toBeUndefined(),
  );
});
