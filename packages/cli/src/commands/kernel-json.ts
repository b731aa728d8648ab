/**
 * What `tsbpf prog|map|link|btf list --json` print for each kernel object:
 * bpftool's JSON shapes (`bpftool -j prog show` ...) field for field, with
 * the fields bpftool leaves out added after them (statistics at zero,
 * verified instructions); the shared helpers of the kernel-object commands
 * (ids from the command line, wall-clock load times, loader errors as the
 * user's, bigint-exact JSON).
 */
import { readFileSync } from 'node:fs';
import { btfFromId, type BtfInfo, type LinkInfo, type MapInfo, type ProgramInfo } from '@tsbpf/loader';
import { jsonText } from '@tsbpf/maps';
import { programTypeName } from '@tsbpf/object';
import { CliError, type CliIo } from '../io.js';

/** Seconds since the epoch at boot (CLOCK_REALTIME - CLOCK_BOOTTIME, from /proc/uptime), as bpftool reckons `loaded_at`. */
export function bootEpochNs(): bigint {
  const uptime = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
  const [s, frac = '0'] = uptime.split('.');
  const uptimeNs = BigInt(s!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  return BigInt(Date.now()) * 1_000_000n - uptimeNs;
}

/** `loaded_at` as bpftool prints it in JSON: seconds since the epoch. */
export function loadedAt(loadTimeNs: bigint, bootNs = bootEpochNs()): number {
  return Number((bootNs + loadTimeNs) / 1_000_000_000n);
}

/**
 * A program's full name: the kernel keeps 15 bytes; as bpftool, a name cut
 * there is completed from the program's BTF (its first func_info's function).
 */
export function fullProgramName(p: ProgramInfo, funcInfo: Uint8Array | undefined): string {
  if (p.name.length < 15 || p.btfId === 0 || !funcInfo || funcInfo.length < 8) return p.name;
  try {
    const typeId = new DataView(funcInfo.buffer, funcInfo.byteOffset, 8).getUint32(4, true);
    const name = btfFromId(p.btfId).type(typeId).name;
    return name.startsWith(p.name) ? name : p.name;
  } catch {
    return p.name;
  }
}

/** `bpftool -j prog show` of one program, then what only tsbpf adds. */
export function programJson(p: ProgramInfo, name = p.name, bootNs?: bigint): Record<string, unknown> {
  const o: Record<string, unknown> = { id: p.id, type: typeName(p.typeName, p.type) };
  if (name) o.name = name;
  o.tag = p.tag;
  o.gpl_compatible = p.gplCompatible;
  if (p.runTimeNs !== 0n) {
    o.run_time_ns = p.runTimeNs;
    o.run_cnt = p.runCount;
  }
  if (p.recursionMisses !== 0n) o.recursion_misses = p.recursionMisses;
  if (p.loadTimeNs !== 0n) {
    o.loaded_at = loadedAt(p.loadTimeNs, bootNs);
    o.uid = p.uid;
  }
  o.bytes_xlated = p.xlatedBytes;
  o.jited = p.jitedBytes !== 0;
  if (p.jitedBytes !== 0) o.bytes_jited = p.jitedBytes;
  if (p.memlock !== undefined) o.bytes_memlock = p.memlock;
  if (p.mapIds.length > 0) o.map_ids = p.mapIds;
  if (p.btfId !== 0) o.btf_id = p.btfId;
  // Beyond bpftool's fields:
  o.run_time_ns ??= p.runTimeNs;
  o.run_cnt ??= p.runCount;
  o.recursion_misses ??= p.recursionMisses;
  o.verified_insns = p.verifiedInstructions;
  if (p.attachBtfId !== 0) {
    o.attach_btf_obj_id = p.attachBtfObjId;
    o.attach_btf_id = p.attachBtfId;
  }
  return o;
}

/** `bpftool -j map show` of one map, then what only tsbpf adds. */
export function mapJson(m: MapInfo): Record<string, unknown> {
  const o: Record<string, unknown> = { id: m.id, type: typeName(m.typeName, m.type) };
  if (m.name) o.name = m.name;
  o.flags = m.flags;
  o.bytes_key = m.keySize;
  o.bytes_value = m.valueSize;
  o.max_entries = m.maxEntries;
  if (m.memlock !== undefined) o.bytes_memlock = m.memlock;
  if (m.ownerProgType !== undefined) {
    o.owner_prog_type = typeName(programTypeName(m.ownerProgType), m.ownerProgType);
    o.owner_jited = m.ownerJited === true;
  }
  if (m.frozen !== undefined) o.frozen = m.frozen ? 1 : 0;
  if (m.btfId !== 0) o.btf_id = m.btfId;
  // Beyond bpftool's fields:
  if (m.btfId !== 0) {
    o.btf_key_type_id = m.btfKeyTypeId;
    o.btf_value_type_id = m.btfValueTypeId;
  }
  if (m.mapExtra !== 0n) o.map_extra = m.mapExtra;
  return o;
}

/** `bpftool -j link show` of one link (the target fields its type has), then what only tsbpf adds. */
export function linkJson(l: LinkInfo, progTypeName?: string): Record<string, unknown> {
  const o: Record<string, unknown> = { id: l.id, type: typeName(l.typeName, l.type), prog_id: l.progId };
  if (l.tracepoint !== undefined && l.typeName === 'raw_tracepoint') o.tp_name = l.tracepoint;
  if (l.typeName === 'tracing' && progTypeName) o.prog_type = progTypeName;
  if (l.cgroupId !== undefined) o.cgroup_id = l.cgroupId;
  if (l.iterTarget !== undefined) o.target_name = l.iterTarget;
  if (l.netnsIno !== undefined) o.netns_ino = l.netnsIno;
  if (l.attachTypeName !== undefined) o.attach_type = l.attachTypeName;
  if (l.ifindex !== undefined) o.ifindex = l.ifindex;
  if (l.mapId !== undefined) o.map_id = l.mapId;
  if (l.targetObjId) o.target_obj_id = l.targetObjId;
  if (l.targetBtfId) o.target_btf_id = l.targetBtfId;
  if (l.netfilter) Object.assign(o, { pf: l.netfilter.pf, hook: l.netfilter.hooknum, prio: l.netfilter.priority, flags: l.netfilter.flags });
  if (l.perfEventType !== undefined) o.event_type = l.perfEventType;
  if (l.func !== undefined) o.func = l.func;
  if (l.file !== undefined) o.file = l.file;
  if (l.tracepoint !== undefined && l.typeName === 'perf_event') o.tracepoint = l.tracepoint;
  if (l.offset) o.offset = l.offset;
  if (l.address) o.addr = l.address;
  if (l.count !== undefined) o.count = l.count;
  if (l.missed !== undefined) o.missed = l.missed;
  if (l.pid) o.pid = l.pid;
  return o;
}

/** `bpftool -j btf list` of one BTF object: the programs and maps that use it by id. */
export function btfJson(b: BtfInfo, progIds: number[], mapIds: number[]): Record<string, unknown> {
  const o: Record<string, unknown> = { id: b.id, size: b.size, prog_ids: progIds, map_ids: mapIds, kernel: b.kernel };
  if (b.name) o.name = b.name;
  return o;
}

/** A type by libbpf's name; `unknown(<n>)` (newer than our table) as its number, as bpftool prints it. */
function typeName(name: string, n: number): string | number {
  return name.startsWith('unknown(') ? n : name;
}

/** Prints data as JSON (bigints exact), one document and a newline. */
export function printJson(io: CliIo, data: unknown, pretty = false): void {
  io.out(`${jsonText(data, pretty ? 2 : 0)}\n`);
}

/** A kernel object id from the command line: `ID` or `id ID` as bpftool takes it. */
export function parseId(words: readonly string[], what: string): number {
  const rest = words[0] === 'id' ? words.slice(1) : words;
  const text = rest[0];
  const id = text === undefined ? NaN : Number(text);
  if (rest.length !== 1 || !Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw new CliError(`${what}: expected an id (\`${what} ID\` or \`${what} id ID\`), got ${JSON.stringify(words.join(' '))}`, 1, 'USAGE');
  }
  return id;
}
