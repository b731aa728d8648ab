// attachLircMode2 without a lirc device (this VM has none): /proc/devices
// and dev_t parsing; refusals of fds that are not lirc devices (a real
// /dev/null, a real file) with ATTACH_TARGET; and, above a fake bpf() with
// fstat and /proc/devices answered as for a /dev/lirc0, the exact
// BPF_PROG_ATTACH and BPF_PROG_DETACH attrs. No program runs on real pulses.
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttachType, ProgramType } from '@tsbpf/object';
import { attachLircMode2, deviceMajor, lircMajor } from './lirc-mode2.js';
import { getField } from './sys/fields.js';
import { progAttachAttr as A } from './sys/layouts.generated.js';
import { FakeKernel, fakeProgram } from './testing/fake-kernel.js';

/** When set, fstat of this fd says "character device 240:0" and /proc/devices lists lirc at 240. */
const fakeLirc = vi.hoisted(() => ({ fd: -1 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fstatSync: ((fd: number, ...rest: []) =>
      fd === fakeLirc.fd ? { isCharacterDevice: () => true, rdev: 240 << 8 } : fs.fstatSync(fd, ...rest)) as typeof fs.fstatSync,
    readFileSync: ((path: string, ...rest: []) =>
      fakeLirc.fd >= 0 && path === '/proc/devices'
        ? 'Character devices:\n  1 mem\n240 lirc\n\nBlock devices:\n  7 loop\n'
        : fs.readFileSync(path, ...rest)) as typeof fs.readFileSync,
  };
});

const PROC_DEVICES = `Character devices:
  1 mem
 10 misc
239 lirc
254 ndctl

Block devices:
  7 loop
240 lirc
`;

describe('lirc devices, as /proc/devices and stat name them', () => {
  it('the lirc major comes from the character devices only', () => {
    expect(lircMajor(PROC_DEVICES)).toBe(239);
    expect(lircMajor('Character devices:\n  1 mem\n\nBlock devices:\n240 lirc\n')).toBeUndefined();
    expect(lircMajor('Character devices:\n  1 mem\n 12 lircx\n')).toBeUndefined();
  });
  it("a dev_t's major, small and large", () => {
    expect(deviceMajor((239 << 8) | 3)).toBe(239);
    expect(deviceMajor(0x103)).toBe(1);
    expect(deviceMajor(2 ** 32 * 0x1000 + (0x234 << 8))).toBe(0x1234); // bits 44 and up hold the major's high part
  });
});

describe('attachLircMode2, above a fake bpf()', () => {
  const kernel = new FakeKernel();
  beforeEach(() => kernel.reset().install());
  afterEach(() => {
    fakeLirc.fd = -1;
  });
  const program = (type: number = ProgramType.lirc_mode2) => fakeProgram(kernel, type, 'decode');

  it('refuses fds that are not lirc devices, and programs of another type, before any bpf() call', () => {
    using p = program();
    using other = program(ProgramType.sched_cls);
    const file = join(tmpdir(), `tsbpf-lirc-${process.pid}`);
    writeFileSync(file, 'x');
    const [devNull, regular] = [openSync('/dev/null', 'r'), openSync(file, 'r')];
    try {
      const before = kernel.calls.length;
      const lirc = lircMajor(readFileSync('/proc/devices', 'utf8'));
      expect(() => attachLircMode2(p, devNull)).toThrow(
        expect.objectContaining({
          code: 'ATTACH_TARGET',
          message: expect.stringMatching(
            lirc === undefined ? /not a lirc device: this kernel has no lirc devices/ : /not a lirc device: a character device of major 1,/,
          ),
        }),
      );
      expect(() => attachLircMode2(p, regular)).toThrow(/^program decode: attach lirc_mode2 to fd \d+: fd \d+ is not a lirc device: not a character device$/);
      expect(() => attachLircMode2(p, 1 << 30)).toThrow(
        expect.objectContaining({ code: 'ATTACH_TARGET', message: expect.stringMatching(/cannot inspect fd/) }),
      );
      expect(() => attachLircMode2(p, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => attachLircMode2(other, devNull)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not lirc_mode2/) }),
      );
      expect(kernel.calls.length).toBe(before);
    } finally {
      closeSync(devNull);
      closeSync(regular);
      rmSync(file);
    }
  });

  it('a lirc device: BPF_PROG_ATTACH with the device fd, the program fd and BPF_LIRC_MODE2; close detaches once', () => {
    using p = program();
    fakeLirc.fd = 777;
    const seen = kernel.record(
      ['PROG_ATTACH', 'PROG_DETACH'],
      ({ view }, cmd) => {
        const f = (name: keyof typeof A) => getField(view, A[name]);
        return { cmd, target: f('target_fd'), prog: f('attach_bpf_fd'), type: f('attach_type'), flags: f('attach_flags') };
      },
      0,
    );
    const attachment = attachLircMode2(p, 777);
    attachment.close();
    attachment.close();
    const expected = { target: 777, prog: p.fd, type: AttachType.lirc_mode2, flags: 0 };
    expect(seen).toEqual([
      { cmd: 'PROG_ATTACH', ...expected },
      { cmd: 'PROG_DETACH', ...expected },
    ]);
  });

  it("the kernel's refusal is a SyscallError naming the attach", () => {
    using p = program();
    fakeLirc.fd = 777;
    kernel.answer = (cmd) => (cmd === 'PROG_ATTACH' ? -22 : undefined);
    expect(() => attachLircMode2(p, 777)).toThrow(/^program decode: attach lirc_mode2 to fd 777: BPF_PROG_ATTACH: EINVAL/);
  });
});
