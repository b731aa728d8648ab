/**
 * The machine code of a bpf() stub: a function `long stub(uintptr_t attr)`
 * that makes bpf(cmd, attr, size) with its command and size built in,
 * through the `syscall` instruction itself, and returns the kernel's answer
 * (the result, or -errno: no libc wrapper, no errno to read afterwards).
 *
 * Why: koffi converts every argument through N-API, and syscall(2) takes
 * four (the number, the command, the attr, its size). A call with one
 * argument costs 11–14 ns less bare (bench/maps/ffi-tax.mjs) and 18–25 ns
 * less on each element operation of BpfMap and TypedMap (bench/maps/call-ab.mjs),
 * and a failed one (a missing key, the end of a walk) needs no second call
 * for errno (docs/performance.md, 2026-12-04).
 *
 * x86-64 only. System V passes the argument in rdi; the kernel takes the
 * syscall number in rax and its arguments in rdi, rsi, rdx, answers in rax
 * and clobbers rcx and r11: every register touched is caller-saved, nothing
 * else is read or written, and no stack is used. Elsewhere there is no stub
 * and the hot path stays syscall(2) (sys/ffi.ts).
 */
import { LoaderError } from '../errors.js';

/** The one architecture with a stub (process.arch's name). */
export const STUB_ARCH = 'x64';

/** The stub for bpf(cmd, attr, size) on `arch` (SYS_bpf = `nr`), or undefined when that architecture has none. */
export function bpfStubCode(arch: string, nr: number, cmd: number, size: number): Uint8Array | undefined {
  if (arch !== STUB_ARCH) return undefined;
  for (const [name, v] of [
    ['syscall number', nr],
    ['command', cmd],
    ['attr size', size],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new LoaderError('INVALID_ARGUMENT', `bpf stub: ${name} ${v} is not a u32`);
  }
  return Uint8Array.from([
    ...[0x48, 0x89, 0xfe], // mov rsi, rdi       the attr's address becomes bpf()'s second argument
    ...[0xbf, ...u32(cmd)], // mov edi, cmd      (a 32-bit move zero-extends into rdi)
    ...[0xba, ...u32(size)], // mov edx, size
    ...[0xb8, ...u32(nr)], // mov eax, SYS_bpf
    ...[0x0f, 0x05], // syscall                  rax = result or -errno
    0xc3, // ret
  ]);
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}
