/**
 * attachUsdt: a program written for libbpf's `<bpf/usdt.bpf.h>` on the USDT
 * probes of a binary or library, as libbpf attaches it: each distinct
 * argument spec written into the object's `__bpf_usdt_specs` map under a
 * spec id, one uprobe per probe site carrying that id as its bpf_cookie (or,
 * without cookies, the site's address in `__bpf_usdt_ip_to_spec_id`), and
 * semaphores counted by the kernel through `ref_ctr_offset`.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { USDT_ARCH_OF_MACHINE, USDT_SPEC_SIZE, encodeUsdtSpec, parseUsdtArgs, parseUsdtNotes, withContext, type UsdtNote } from '@tsbpf/object';
import type { Program } from './program.js';
import type { BpfMap } from './map.js';
import type { Link } from './link.js';
import { attachUprobeAt } from './uprobe-attach.js';
import { resolveProbeTarget } from './library-path.js';
import { programMaps } from './program-maps.js';
import { hasBpfCookie } from './kernel-features.js';
import { checkCookie } from './perf-event.js';
import { INT_MAX, checkInteger } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';

export interface UsdtOptions {
  /** What bpf_usdt_cookie() returns in the program. */
  cookie?: bigint;
  /** Only in this process (with a path target; a pid target implies it); also where a bare library name is looked for. */
  pid?: number;
  /** The spec maps, when the program was not loaded by loadCollection (default: its collection's maps of these names). */
  specsMap?: BpfMap;
  ipToSpecIdMap?: BpfMap;
  /** Also fill `__bpf_usdt_ip_to_spec_id` (probe address → spec id) where BPF cookies work: kernels without cookies need it, and get it by themselves. */
  fillIpMap?: boolean;
}

/** The free spec ids of each `__bpf_usdt_specs` map (ids are shared by every attachment that fills it). */
const idPools = new WeakMap<BpfMap, { next: number; free: number[] }>();

/** The USDT probes of a file (`parseUsdtNotes` over its bytes), for listing them. */
export function readUsdtProbes(path: string): readonly UsdtNote[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return withContext(path, () => parseUsdtNotes(bytes).notes);
}

/** The probes attached by attachUsdt; closing detaches them and frees their spec ids. */
export class UsdtAttachment implements Disposable {
  private closed = false;
  constructor(
    readonly description: string,
    /** The probe sites (one uprobe each). */
    readonly sites: readonly UsdtNote[],
    private readonly links: Link[],
    private readonly release: () => void,
  ) {}

  /** The uprobe links' fds (after close(), a CLOSED error). */
  get fds(): number[] {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(this.description);
    return this.links.map((l) => l.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) l.close();
    this.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Attaches `program` (written with libbpf's usdt.bpf.h: `BPF_USDT`,
 * `bpf_usdt_arg`) to every site of USDT probe `provider:name` in `target`: a
 * path, a library or program name (found as resolveProbeTarget finds it), or
 * a pid (that process's executable, probed in that process only).
 */
export function attachUsdt(program: Program, target: string | number, provider: string, name: string, options: UsdtOptions = {}): UsdtAttachment {
  const context = `program ${program.name}: usdt ${String(target)}:${provider}:${name}`;
  let pid = options.pid;
  if (pid !== undefined) checkInteger(pid, 'pid', 0, INT_MAX, context);
  let path: string;
  if (typeof target === 'number') {
    pid = checkInteger(target, 'pid', 1, INT_MAX, context);
    path = `/proc/${pid}/exe`;
  } else {
    path = withContext(context, () => resolveProbeTarget(target, pid));
  }
  const cookie = checkCookie(options.cookie, context) ?? 0n;
  if (typeof provider !== 'string' || typeof name !== 'string' || !provider || !name)
    throw new LoaderError('INVALID_ARGUMENT', 'provider and name must be non-empty strings').addContext(context);
  const maps = programMaps(program);
  const specs = options.specsMap ?? maps?.['__bpf_usdt_specs'];
  const ipMap = options.ipToSpecIdMap ?? maps?.['__bpf_usdt_ip_to_spec_id'];
  if (!specs)
    throw new LoaderError('ATTACH_TARGET', 'the program has no __bpf_usdt_specs map: write it with <bpf/usdt.bpf.h>, or pass specsMap').addContext(context);
  if (specs.valueSize !== USDT_SPEC_SIZE || specs.keySize !== 4)
    throw new LoaderError(
      'ATTACH_TARGET',
      `__bpf_usdt_specs holds ${specs.keySize}-byte keys and ${specs.valueSize}-byte values, not libbpf's 4 and ${USDT_SPEC_SIZE}`,
    ).addContext(context);

  const probes = withContext(context, () => parseUsdtNotes(readBinary(path, context)));
  const sites = probes.notes.filter((n) => n.provider === provider && n.name === name);
  if (sites.length === 0) {
    const have = [...new Set(probes.notes.map((n) => `${n.provider}:${n.name}`))];
    throw new LoaderError('ATTACH_TARGET', `no USDT probe ${provider}:${name} in ${path} (it has ${have.length ? have.join(', ') : 'none'})`).addContext(
      context,
    );
  }
  const arch = USDT_ARCH_OF_MACHINE[probes.machine];
  if (!arch) throw new NotSupportedError(`USDT arguments of ELF machine ${probes.machine} are not understood`).addContext(context);
  const cookies = hasBpfCookie();
  const byIp = !cookies || options.fillIpMap === true;
  if (byIp && !ipMap)
    throw new NotSupportedError('the program has no __bpf_usdt_ip_to_spec_id map, and this kernel no BPF cookies (or fillIpMap asks for it)').addContext(
      context,
    );

  const pool = idPools.get(specs) ?? { next: 0, free: [] };
  idPools.set(specs, pool);
  const ids: number[] = [];
  const ipKeys: Uint8Array[] = [];
  const links: Link[] = [];
  const release = () => {
    for (const key of ipKeys) ipMap!.delete(key);
    for (const id of ids) pool.free.push(id);
  };
  try {
    const idOfSpec = new Map<string, number>();
    for (const site of sites) {
      let id = idOfSpec.get(site.args);
      if (id === undefined) {
        const bytes = withContext(`${context}: site 0x${site.address.toString(16)}`, () => encodeUsdtSpec(parseUsdtArgs(site.args, arch), cookie));
        id = pool.free.pop() ?? pool.next++;
        if (id >= specs.maxEntries) {
          pool.next--;
          throw new LoaderError('ATTACH_TARGET', `__bpf_usdt_specs is full (${specs.maxEntries} specs; raise BPF_USDT_MAX_SPEC_CNT)`).addContext(context);
        }
        ids.push(id);
        idOfSpec.set(site.args, id);
        specs.update(u32(id), bytes);
      }
      if (byIp) {
        const key = new Uint8Array(8);
        new DataView(key.buffer).setBigInt64(0, BigInt(runtimeAddress(site, probes.elfType, path, pid, context)), true);
        ipMap!.update(key, u32(id));
        ipKeys.push(key);
      }
      links.push(
        attachUprobeAt(
          program,
          path,
          site.fileOffset,
          { pid, cookie: cookies ? BigInt(id) : undefined, refCtrOffset: site.semaphoreOffset || undefined },
          `${path}:${provider}:${name}`,
        ),
      );
    }
  } catch (e) {
    for (const l of links) l.close();
    release();
    throw e;
  }
  return new UsdtAttachment(`usdt ${path}:${provider}:${name}`, sites, links, release);
}

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

function readBinary(path: string, context: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`).addContext(context);
  }
}

/**
 * Where a probe site is in memory, the key of `__bpf_usdt_ip_to_spec_id`
 * (kernels without cookies): its address in a fixed-address executable; in a
 * library or position-independent executable, the address process `pid`
 * mapped it at (its /proc/PID/maps), as libbpf requires.
 */
function runtimeAddress(site: UsdtNote, elfType: number, path: string, pid: number | undefined, context: string): number {
  const ET_EXEC = 2;
  if (elfType === ET_EXEC) return site.address;
  if (pid === undefined) throw new NotSupportedError('without BPF cookies, probes in a shared library or PIE need a pid').addContext(context);
  const real = path.endsWith('/exe') ? readlinkTarget(path) : path;
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const f = line.split(/\s+/);
    if (f.length < 6 || !f[1]!.includes('x')) continue;
    if (f[5] !== real) continue;
    const [start, end] = f[0]!.split('-').map((x) => parseInt(x, 16)) as [number, number];
    const offset = parseInt(f[2]!, 16);
    if (site.fileOffset >= offset && site.fileOffset < offset + (end - start)) return start + site.fileOffset - offset;
  }
  throw new LoaderError('ATTACH_TARGET', `process ${pid} has not mapped ${path} where the probe is`).addContext(context);
}

function readlinkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The target of `SEC("usdt/<path>:<provider>:<name>")`, as libbpf reads it
 * (the path may itself hold colons: provider and name are the last two
 * fields); undefined for a bare `SEC("usdt")`.
 */
export function parseUsdtSection(sectionName: string): { path: string; provider: string; name: string } | undefined {
  const m = /^usdt(?:\.s)?(?:\/(.*))?$/.exec(sectionName);
  if (!m) throw new LoaderError('ATTACH_TARGET', `SEC("${sectionName}") is not a USDT section`);
  if (m[1] === undefined || m[1] === '') return undefined;
  const parts = /^(.+):([^:]+):([^:]+)$/.exec(m[1]);
  if (!parts) throw new LoaderError('ATTACH_TARGET', `SEC("${sectionName}"): expected usdt/<path>:<provider>:<name>`);
  return { path: parts[1]!, provider: parts[2]!, name: parts[3]! };
}

/** attachUsdt to the probe the program's section names (`SEC("usdt/<path>:<provider>:<name>")`). */
export function attachUsdtSection(program: Program, sectionName: string, options: UsdtOptions = {}): UsdtAttachment {
  const target = withContext(`program ${program.name}`, () => parseUsdtSection(sectionName));
  if (!target) throw new LoaderError('ATTACH_TARGET', `program ${program.name}: SEC("${sectionName}") names no probe; use attachUsdt`);
  return attachUsdt(program, target.path, target.provider, target.name, options);
}
