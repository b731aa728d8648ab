/** `tsbpf attach`'s pure parts, without root: what --to means for each kind of program, and how a record is printed. */
import { describe, expect, it } from 'vitest';
import { ProgramType, type ProgramSpec } from '@tsbpf/object';
import { attachPlan, formatRecord } from '../packages/cli/src/commands/attach.js';

const prog = (sectionName: string, type: number, typeName: string, attachType?: number) =>
  ({ name: 'p', sectionName, type, typeName, attachType }) as unknown as ProgramSpec;

describe('attach targets', () => {
  it('without --to, the section decides', () => {
    expect(attachPlan(prog('kprobe/do_unlinkat', ProgramType.kprobe, 'kprobe'), undefined)).toEqual({ how: 'section', target: {} });
  });

  it('--to by program kind: tracepoint, kprobe, kretprobe, uprobe, interface, netns, cgroup', () => {
    expect(attachPlan(prog('tracepoint', ProgramType.tracepoint, 'tracepoint'), 'syscalls/sys_enter_openat')).toEqual({
      how: 'tracepoint',
      category: 'syscalls',
      name: 'sys_enter_openat',
    });
    expect(attachPlan(prog('kprobe', ProgramType.kprobe, 'kprobe'), 'do_unlinkat')).toEqual({ how: 'kprobe', func: 'do_unlinkat', retprobe: false });
    expect(attachPlan(prog('kretprobe', ProgramType.kprobe, 'kprobe'), 'do_unlinkat')).toEqual({ how: 'kprobe', func: 'do_unlinkat', retprobe: true });
    expect(attachPlan(prog('uretprobe', ProgramType.kprobe, 'kprobe'), '/usr/lib/libc.so.6:malloc')).toEqual({
      how: 'uprobe',
      binary: '/usr/lib/libc.so.6',
      func: 'malloc',
      retprobe: true,
    });
    expect(attachPlan(prog('kretsyscall', ProgramType.kprobe, 'kprobe'), 'openat')).toEqual({ how: 'ksyscall', syscall: 'openat', retprobe: true });
    expect(attachPlan(prog('kprobe.multi', ProgramType.kprobe, 'kprobe'), 'tcp_*')).toEqual({
      how: 'multi',
      pattern: 'tcp_*',
      retprobe: false,
      session: false,
    });
    expect(attachPlan(prog('kretprobe.multi/x', ProgramType.kprobe, 'kprobe'), 'tcp_*')).toEqual({
      how: 'multi',
      pattern: 'tcp_*',
      retprobe: true,
      session: false,
    });
    expect(attachPlan(prog('kprobe.session', ProgramType.kprobe, 'kprobe'), 'tcp_*')).toEqual({
      how: 'multi',
      pattern: 'tcp_*',
      retprobe: false,
      session: true,
    });
    expect(attachPlan(prog('xdp', ProgramType.xdp, 'xdp'), '1')).toEqual({ how: 'section', target: { ifindex: 1 } });
    expect(attachPlan(prog('xdp', ProgramType.xdp, 'xdp'), 'lo')).toEqual({ how: 'section', target: { ifindex: 1 } });
    expect(attachPlan(prog('sk_lookup', ProgramType.sk_lookup, 'sk_lookup'), '/var/run/netns/a')).toEqual({
      how: 'section',
      target: { netns: '/var/run/netns/a' },
    });
    expect(attachPlan(prog('cgroup_skb/egress', ProgramType.cgroup_skb, 'cgroup_skb', 1), '/sys/fs/cgroup/x')).toEqual({
      how: 'section',
      target: { cgroup: '/sys/fs/cgroup/x' },
    });
  });

  it('a target the program cannot take is a USAGE error', () => {
    const usage = expect.objectContaining({ code: 'USAGE' });
    expect(() => attachPlan(prog('tracepoint', ProgramType.tracepoint, 'tracepoint'), 'sys_enter_openat')).toThrow(usage);
    expect(() => attachPlan(prog('uprobe', ProgramType.kprobe, 'kprobe'), 'no-function')).toThrow(usage);
    expect(() => attachPlan(prog('usdt', ProgramType.kprobe, 'kprobe'), 'x')).toThrow(usage);
    expect(() => attachPlan(prog('xdp', ProgramType.xdp, 'xdp'), 'no-such-interface-here')).toThrow(usage);
    expect(() => attachPlan(prog('raw_tp/sched_switch', ProgramType.raw_tracepoint, 'raw_tracepoint'), 'x')).toThrow(usage);
  });
});

describe('record lines', () => {
  const record = { pid: 42, ts: 2n ** 63n, comm: 'node', addr: new Uint8Array([1, 2]), inner: { a: 1 } };
  it('text: map, cpu for perf records, fields as JSON values (64-bit exact, bytes as hex)', () => {
    expect(formatRecord('events', record, undefined, false)).toBe('events: pid=42 ts=9223372036854775808 comm="node" addr="0102" inner={"a":1}');
    expect(formatRecord('perf', { pid: 1 }, 3, false)).toBe('perf cpu 3: pid=1');
    expect(formatRecord('events', 7, undefined, false)).toBe('events: 7');
  });
  it('--json: one object per line', () => {
    expect(JSON.parse(formatRecord('perf', { pid: 1, comm: 'x' }, 0, true))).toEqual({ map: 'perf', cpu: 0, record: { pid: 1, comm: 'x' } });
    expect(formatRecord('events', record, undefined, true)).toBe(
      '{"map":"events","record":{"pid":42,"ts":9223372036854775808,"comm":"node","addr":"0102","inner":{"a":1}}}',
    );
  });
});
