/**
 * lirc_mode2: a program that decodes an infrared receiver's raw pulses,
 * attached with BPF_PROG_ATTACH to an open /dev/lircN (checked to be a lirc
 * character device first), detached by closing the attachment.
 */
import { fstatSync, readFileSync } from 'node:fs';
import { AttachType, ProgramType } from '@tsbpf/object';
import { checkU32 } from './args.js';
import { LoaderError } from './errors.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';

/** The character-device major the kernel gave lirc devices, from /proc/devices text ("Character devices:" section), or undefined. */
export function lircMajor(procDevices: string): number | undefined {
  const chars = procDevices.split(/\n\s*\n|Block devices:/)[0] ?? '';
  const line = chars.split('\n').find((l) => /^\s*\d+\s+lirc\s*$/.test(l));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
}

/** The major number of a Linux dev_t (glibc's encoding: bits 8-19 and 32-43). */
export function deviceMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

/** A lirc_mode2 program on a lirc device; close() detaches it (the fd and program stay the caller's). */
export class LircAttachment implements Disposable {
  private attached = true;
  constructor(
    private readonly lircFd: number,
    private readonly program: Program,
    readonly description: string,
  ) {}

  close(): void {
    if (!this.attached) return;
    this.attached = false;
    sys.progDetach(this.lircFd, this.program.fd, AttachType.lirc_mode2, this.description);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * BPF_PROG_ATTACH of a lirc_mode2 program to `lircFd`, an open /dev/lircN
 * (the kernel runs it for every pulse, space and timeout the receiver
 * reports). An fd that is not a lirc device is ATTACH_TARGET.
 */
export function attachLircMode2(program: Program, lircFd: number): LircAttachment {
  const description = `program ${program.name}: attach lirc_mode2 to fd ${lircFd}`;
  checkU32(lircFd, 'lircFd', description);
  if (program.type !== ProgramType.lirc_mode2) throw new LoaderError('INVALID_ARGUMENT', 'the program is not lirc_mode2').addContext(description);
  let why: string | undefined;
  try {
    const st = fstatSync(lircFd);
    const major = lircMajor(readFileSync('/proc/devices', 'utf8'));
    if (!st.isCharacterDevice()) why = 'not a character device';
    else if (major === undefined) why = 'this kernel has no lirc devices (no "lirc" in /proc/devices: CONFIG_LIRC unset)';
    else if (deviceMajor(st.rdev) !== major) why = `a character device of major ${deviceMajor(st.rdev)}, not lirc's ${major}`;
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot inspect fd ${lircFd}: ${(e as Error).message}`, { cause: e }).addContext(description);
  }
  if (why) throw new LoaderError('ATTACH_TARGET', `fd ${lircFd} is not a lirc device: ${why}`).addContext(description);
  sys.progAttach(lircFd, program.fd, AttachType.lirc_mode2, 0, description);
  return new LircAttachment(lircFd, program, description);
}
