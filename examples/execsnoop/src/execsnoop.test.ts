import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { execsnoop, type ExecEvent } from './execsnoop.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

describeNeeds([isRoot(), hasCommand('clang'), hasFile('/sys/kernel/tracing/events/syscalls/sys_enter_execve')], 'execsnoop', () => {
  it('sees exactly the executions of /bin/true we start, with their parent', async () => {
    using snoop = await execsnoop();
    const marker = `/bin/true`;
    for (let i = 0; i < 3; i++) execFileSync(marker, [`tsbpf-${process.pid}-${i}`]);
    const seen: ExecEvent[] = [];
    const deadline = Date.now() + 5000;
    for await (const e of snoop) {
      if (e.filename === marker && e.ppid === process.pid) seen.push(e);
      if (seen.length === 3 || Date.now() > deadline) break;
    }
    expect(seen).toHaveLength(3);
    for (const e of seen) {
      expect(e.pid).toBeGreaterThan(0);
      expect(e.pid).not.toBe(process.pid);
      expect(e.comm.length).toBeGreaterThan(0);
    }
    expect(new Set(seen.map((e) => e.pid)).size).toBe(3);
  }, 120_000);
});
