/**
 * kprobe.multi and kprobe.session links (BPF_TRACE_KPROBE_MULTI,
 * BPF_TRACE_KPROBE_SESSION): one link on many kernel functions, by symbol
 * or address, with a cookie each; and glob patterns (`tcp_*`) resolved as
 * libbpf resolves them, against available_filter_functions (the functions
 * ftrace can probe) or, without it, the text symbols of /proc/kallsyms.
 */
import { existsSync, readFileSync } from 'node:fs';
import { AttachType } from '@tsbpf/object';
import type { Program } from './program.js';
import { Link } from './link.js';
import * as sys from './sys/bpf.js';
import { NativeBuffer } from './sys/ffi.js';
import { checkCookie } from './perf-event.js';
import { describeValue } from './args.js';
import { LoaderError } from './errors.js';
import { TRACEFS_ROOTS } from './tracefs-probe.js';

/** BPF_F_KPROBE_MULTI_RETURN: the link's probes are kretprobes. */
export const BPF_F_KPROBE_MULTI_RETURN = 1;

/** Whether `name` matches a glob of `*` (any run) and `?` (one character), as libbpf's glob_match. Pure. */
export function globMatch(pattern: string, name: string): boolean {
  // Iterative wildcard matching with one backtrack point (the last `*`).
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** What a pattern is resolved against: the texts of the files (any may be absent). */
export interface SymbolSources {
  /** tracefs available_filter_functions: `name` or `name [module]` per line. */
  filterFunctions?: string;
  /** /proc/kallsyms: `address type name [module]` per line. */
  kallsyms?: string;
}

/** A symbol ftrace lists but cannot probe (a placeholder for functions it dropped). */
const INVALID = '__ftrace_invalid_address__';

/**
 * The kernel functions a glob names, each once, in listing order: from
 * available_filter_functions where given (what kprobe.multi can attach to),
 * else the text symbols (`t`/`T`) of kallsyms. Pure: the texts are
 * arguments (kprobePatternSymbols reads the running kernel's).
 */
export function resolveKprobePattern(pattern: string, sources: SymbolSources): string[] {
  const found = new Set<string>();
  if (sources.filterFunctions !== undefined) {
    for (const line of sources.filterFunctions.split('\n')) {
      const name = line.split(/\s/, 1)[0]!;
      if (name && !name.startsWith(INVALID) && globMatch(pattern, name)) found.add(name);
    }
  } else if (sources.kallsyms !== undefined) {
    for (const line of sources.kallsyms.split('\n')) {
      const [, type, name] = line.split(/\s+/);
      if (name && (type === 't' || type === 'T') && !name.startsWith(INVALID) && globMatch(pattern, name)) found.add(name);
    }
  }
  return [...found];
}

/** The running kernel's functions matching `pattern` (available_filter_functions, else /proc/kallsyms). */
export function kprobePatternSymbols(pattern: string): string[] {
  const root = TRACEFS_ROOTS.find((r) => existsSync(`${r}/available_filter_functions`));
  if (root) return resolveKprobePattern(pattern, { filterFunctions: readFileSync(`${root}/available_filter_functions`, 'latin1') });
  return resolveKprobePattern(pattern, { kallsyms: readFileSync('/proc/kallsyms', 'latin1') });
}

export interface KprobeMultiOptions {
  /** Kernel functions by name; or */
  symbols?: readonly string[];
  /** kernel addresses (kallsyms); or */
  addresses?: readonly bigint[];
  /** a glob (`tcp_v4_*`) resolved through kprobePatternSymbols. */
  pattern?: string;
  /** One cookie per function, in the same order (what bpf_get_attach_cookie() returns). */
  cookies?: readonly bigint[];
  /** kretprobes (kretprobe.multi). */
  retprobe?: boolean;
  /** A kprobe.session link (Linux 6.10+): the program runs at entry and, if it returned 0 there, at return. */
  session?: boolean;
}

/** The attr parts of a kprobe.multi link: checked, and laid out in native memory (freed by the caller). */
function layout(options: KprobeMultiOptions, context: string): { count: number; buffers: NativeBuffer[]; syms?: bigint; addrs?: bigint; cookies?: bigint } {
  const given = (['symbols', 'addresses', 'pattern'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1)
    throw new LoaderError('INVALID_ARGUMENT', `give one of symbols, addresses or pattern (given: ${given.join(', ') || 'none'})`).addContext(context);
  if (options.session && options.retprobe)
    throw new LoaderError('INVALID_ARGUMENT', 'a kprobe.session link probes entry and return itself: no retprobe').addContext(context);
  let symbols = options.symbols;
  if (options.pattern !== undefined) {
    if (typeof options.pattern !== 'string' || options.pattern === '')
      throw new LoaderError('INVALID_ARGUMENT', `pattern must be a glob, not ${describeValue(options.pattern)}`).addContext(context);
    symbols = kprobePatternSymbols(options.pattern);
    if (symbols.length === 0) throw new LoaderError('ATTACH_TARGET', `no kernel function matches ${options.pattern}`).addContext(context);
  }
  const list: readonly unknown[] | undefined = symbols ?? options.addresses;
  if (!Array.isArray(list) || list.length === 0)
    throw new LoaderError('INVALID_ARGUMENT', `symbols or addresses must be a non-empty array, not ${describeValue(list)}`).addContext(context);
  const count = list.length;
  // Everything is checked before any native memory is taken.
  if (symbols) {
    for (const s of symbols)
      if (typeof s !== 'string' || s === '' || s.includes('\0'))
        throw new LoaderError('INVALID_ARGUMENT', `symbols must be kernel function names, not ${describeValue(s)}`).addContext(context);
  } else {
    for (const a of options.addresses!)
      if (typeof a !== 'bigint' || a <= 0n || a >= 1n << 64n)
        throw new LoaderError('INVALID_ARGUMENT', `addresses must be u64 bigints, not ${describeValue(a)}`).addContext(context);
  }
  if (options.cookies !== undefined) {
    if (!Array.isArray(options.cookies) || options.cookies.length !== count)
      throw new LoaderError(
        'INVALID_ARGUMENT',
        `cookies must be an array of ${count} u64 bigints, one per function, not ${describeValue(options.cookies)}`,
      ).addContext(context);
    for (const c of options.cookies) checkCookie(c, context);
  }
  const buffers: NativeBuffer[] = [];
  const u64s = (values: readonly bigint[]) => {
    const b = new NativeBuffer(values.length * 8);
    buffers.push(b);
    values.forEach((v, i) => b.view.setBigUint64(i * 8, v, true));
    return b.address;
  };
  const cookies = options.cookies === undefined ? undefined : u64s(options.cookies);
  if (symbols) {
    const strings = symbols.map((s) => NativeBuffer.string(s));
    buffers.push(...strings);
    return { count, buffers, syms: u64s(strings.map((s) => s.address)), cookies };
  }
  return { count, buffers, addrs: u64s(options.addresses!), cookies };
}

/**
 * A kprobe.multi (or kretprobe.multi, or kprobe.session) link: the program
 * on every function named, found by pattern or at an address, in one link
 * (Linux 5.18+; sessions 6.10+). The program must have been loaded with the
 * matching expected attach type (its section says so: `kprobe.multi/...`,
 * `kprobe.session/...`). A kernel without kprobes refuses with its errno.
 */
export function attachKprobeMulti(program: Program, options: KprobeMultiOptions): Link {
  const kind = options.session ? 'kprobe.session' : options.retprobe ? 'kretprobe.multi' : 'kprobe.multi';
  const context = `program ${program.name}: attach ${kind}`;
  if (typeof options !== 'object' || options === null)
    throw new LoaderError('INVALID_ARGUMENT', `options must be an object, not ${describeValue(options)}`).addContext(context);
  const progFd = program.fd;
  const l = layout(options, context);
  const what = `${kind} ${options.pattern ?? `${l.count} function${l.count === 1 ? '' : 's'}`}`;
  try {
    const fd = sys.linkCreate(
      {
        progFd,
        target: 0,
        attachType: options.session ? AttachType.trace_kprobe_session : AttachType.trace_kprobe_multi,
        kprobeMulti: { flags: options.retprobe ? BPF_F_KPROBE_MULTI_RETURN : 0, count: l.count, syms: l.syms, addrs: l.addrs, cookies: l.cookies },
      },
      context,
    );
    return new Link(fd, what);
  } finally {
    for (const b of l.buffers) b.free();
  }
}
