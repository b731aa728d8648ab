/**
 * uprobe.multi: many functions (or file offsets) of one binary in one
 * BPF_TRACE_UPROBE_MULTI link, each with its own cookie and semaphore
 * (`ref_ctr_offset`); functions by name or by a glob over the binary's
 * symbols as libbpf matches them; and the probe for the link type.
 */
import { readFileSync } from 'node:fs';
import { AttachType, ProgramType, asm, encodeInstructions, imageFunctions, addressToFileOffset, parseElfImage } from '@tsbpf/object';
import type { Program } from './program.js';
import { Link } from './link.js';
import { resolveProbeTarget } from './library-path.js';
import { checkCookie } from './perf-event.js';
import { INT_MAX, checkInteger, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';

/** BPF_F_UPROBE_MULTI_RETURN: the link's probes fire at function return. */
const BPF_F_UPROBE_MULTI_RETURN = 1;
/** The kernel's limit on offsets per link (MAX_UPROBE_MULTI_CNT is 1 << 20). */
const MAX_COUNT = 1 << 20;
const EPERM = 1;
const EACCES = 13;

let supported: boolean | undefined;

/**
 * Whether this kernel has uprobe.multi links (Linux 6.6+), asked as libbpf
 * asks: a link on the path `/` fails with EBADF where the link type exists.
 */
export function hasUprobeMulti(): boolean {
  supported ??= probe();
  return supported;
}

function probe(): boolean {
  const code = NativeBuffer.from(encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little'));
  const license = NativeBuffer.string('GPL');
  let prog: number;
  try {
    prog = sys.progLoad({ type: ProgramType.kprobe, insns: code, license, expectedAttachType: AttachType.trace_uprobe_multi });
  } finally {
    code.free();
    license.free();
  }
  if (prog < 0) {
    if (-prog === EPERM || -prog === EACCES) throw new SyscallError('BPF_PROG_LOAD', -prog, 'probing for uprobe.multi links');
    return false; // EINVAL: no such attach type for kprobe programs
  }
  const path = NativeBuffer.string('/');
  const offsets = NativeBuffer.from(new Uint8Array(8));
  try {
    const fd = sys.linkCreate({
      progFd: prog,
      target: 0,
      attachType: AttachType.trace_uprobe_multi,
      uprobeMulti: { path: path.address, offsets: offsets.address, refCtrOffsets: 0n, cookies: 0n, cnt: 1, flags: 0, pid: 0 },
    });
    sys.closeFd(fd);
    return true;
  } catch (e) {
    if (e instanceof SyscallError) return e.errnoName === 'EBADF';
    throw e;
  } finally {
    path.free();
    offsets.free();
    sys.closeFd(prog);
  }
}

/** libbpf's glob: `*` any run of characters, `?` any one character, everything else itself. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export interface UprobeMultiOptions {
  /** Fire at function return (uretprobe.multi). */
  retprobe?: boolean;
  /** Only in this process (default: every process running the binary); also where a bare library name is looked for. */
  pid?: number;
  /** What bpf_get_attach_cookie() returns, one per target, in the order uprobeMultiTargets gives. */
  cookies?: readonly bigint[];
  /** Semaphore file offsets (`ref_ctr_offset`), one per target; 0 for none. */
  refCtrOffsets?: readonly number[];
}

/**
 * One BPF_TRACE_UPROBE_MULTI link on `binary` (a path, or a library or
 * program name: see resolveProbeTarget) at every target: a glob over its
 * function symbols (matches sorted by name), or a list of function names and
 * file offsets. The program must be loaded for uprobe.multi
 * (`SEC("uprobe.multi")`, expected attach type trace_uprobe_multi).
 */
export function attachUprobeMulti(program: Program, binary: string, functions: string | readonly (string | number)[], options: UprobeMultiOptions = {}): Link {
  const context = `program ${program.name}: uprobe.multi ${binary}`;
  if (options.pid !== undefined) checkInteger(options.pid, 'pid', 0, INT_MAX, context);
  const path = resolveProbeTarget(binary, options.pid);
  const targets = uprobeMultiTargets(path, functions, context);
  if (targets.length > MAX_COUNT) throw new LoaderError('INVALID_ARGUMENT', `${targets.length} targets (at most ${MAX_COUNT})`).addContext(context);
  const per = <T>(list: readonly T[] | undefined, what: string, check: (x: T, i: number) => bigint): Uint8Array | undefined => {
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.length !== targets.length)
      throw new LoaderError('INVALID_ARGUMENT', `${what}: one per target (${targets.length}), not ${describeValue(list)}`).addContext(context);
    const out = new Uint8Array(8 * list.length);
    const v = new DataView(out.buffer);
    list.forEach((x, i) => v.setBigUint64(i * 8, check(x, i), true));
    return out;
  };
  const cookies = per(options.cookies, 'cookies', (c, i) => checkCookie(c, `${context}: cookie ${i}`)!);
  const refs = per(options.refCtrOffsets, 'refCtrOffsets', (r, i) => BigInt(checkInteger(r, `refCtrOffsets[${i}]`, 0, Number.MAX_SAFE_INTEGER, context)));
  if (!hasUprobeMulti()) throw new NotSupportedError('this kernel has no uprobe.multi links (Linux 6.6+)').addContext(context);
  const offsetBytes = new Uint8Array(8 * targets.length);
  targets.forEach((t, i) => new DataView(offsetBytes.buffer).setBigUint64(i * 8, BigInt(t.offset), true));
  const buffers = [NativeBuffer.string(path), NativeBuffer.from(offsetBytes), cookies && NativeBuffer.from(cookies), refs && NativeBuffer.from(refs)];
  try {
    const [pathBuf, offsetBuf, cookieBuf, refBuf] = buffers;
    const fd = sys.linkCreate(
      {
        progFd: program.fd,
        target: 0,
        attachType: AttachType.trace_uprobe_multi,
        uprobeMulti: {
          path: pathBuf!.address,
          offsets: offsetBuf!.address,
          cookies: cookieBuf?.address ?? 0n,
          refCtrOffsets: refBuf?.address ?? 0n,
          cnt: targets.length,
          flags: options.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0,
          pid: options.pid ?? 0,
        },
      },
      context,
    );
    return new Link(fd, `${options.retprobe ? 'uretprobe' : 'uprobe'}.multi ${path} (${targets.length})`);
  } finally {
    for (const b of buffers) b?.free();
  }
}

/**
 * What attachUprobeMulti probes for `functions` in the file at `path`, in
 * the order its cookies are given: glob matches sorted by name, a list as
 * listed (name '' for a raw offset).
 */
export function uprobeMultiTargets(
  path: string,
  functions: string | readonly (string | number)[],
  context = `uprobe.multi ${path}`,
): { name: string; offset: number }[] {
  if (typeof functions !== 'string' && !Array.isArray(functions))
    throw new LoaderError('INVALID_ARGUMENT', `functions: a glob or a list of names and offsets, not ${describeValue(functions)}`).addContext(context);
  if (functions.length === 0) throw new LoaderError('INVALID_ARGUMENT', 'no functions to probe').addContext(context);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`).addContext(context);
  }
  const image = parseElfImage(bytes);
  const symbols = imageFunctions(image);
  const offsetOf = (name: string, address: number) => {
    const offset = addressToFileOffset(image, address);
    if (offset === undefined)
      throw new LoaderError('ATTACH_TARGET', `function ${name} at 0x${address.toString(16)} is in no loadable segment`).addContext(context);
    return offset;
  };
  if (typeof functions === 'string') {
    const re = globToRegExp(functions);
    const found = symbols.filter((s) => re.test(s.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (found.length === 0) throw new LoaderError('ATTACH_TARGET', `no function of ${path} matches ${functions}`).addContext(context);
    return found.map((s) => ({ name: s.name, offset: offsetOf(s.name, s.address) }));
  }
  const byName = new Map(symbols.map((s) => [s.name, s]));
  return functions.map((f, i) => {
    if (typeof f === 'number') return { name: '', offset: checkInteger(f, `functions[${i}]`, 0, Number.MAX_SAFE_INTEGER, context) };
    if (typeof f !== 'string') throw new LoaderError('INVALID_ARGUMENT', `functions[${i}]: a name or an offset, not ${describeValue(f)}`).addContext(context);
    const s = byName.get(f);
    if (!s) throw new LoaderError('ATTACH_TARGET', `no function ${f} in ${path}`).addContext(context);
    return { name: f, offset: offsetOf(f, s.address) };
  });
}
