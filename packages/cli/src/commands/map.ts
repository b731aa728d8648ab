/**
 * `tsbpf map list|show|dump|lookup|update|delete`: every map in the kernel,
 * whoever created it (like `bpftool map`), its elements read and written as
 * typed values through the map's own BTF (raw hex where it has none).
 */
import { listMaps, mapInfo, type MapInfo } from '@tsbpf/loader';
import { PerCpuMap, fromJsonData, jsonText, openHostMap, toJsonData, type HostMap } from '@tsbpf/maps';
import { CliError, type CliIo } from '../io.js';
import { mapJson, parseId, printJson } from './kernel-json.js';
import type { KernelListOptions } from './prog.js';

/** `tsbpf map list`: every map (`bpftool map show`). */
export function mapList(io: CliIo, opts: KernelListOptions): void {
  const maps = listMaps();
  if (opts.json) return printJson(io, maps.map(mapJson), opts.pretty);
  for (const m of maps) io.out(mapText(m));
}

/** `tsbpf map show ID`. */
export function mapShow(io: CliIo, words: string[], opts: KernelListOptions): void {
  const m = mapInfo(parseId(words, 'map show'));
  if (opts.json) return printJson(io, mapJson(m), opts.pretty);
  io.out(mapText(m));
}

function mapText(m: MapInfo): string {
  let s = `${m.id}: ${m.typeName}  name ${m.name || '(none)'}  flags 0x${m.flags.toString(16)}\n`;
  s += `\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}`;
  if (m.memlock !== undefined) s += `  memlock ${m.memlock}B`;
  s += '\n';
  const extra = [m.btfId ? `btf_id ${m.btfId}` : '', m.frozen ? 'frozen' : ''].filter(Boolean);
  if (extra.length) s += `\t${extra.join('  ')}\n`;
  return s;
}

function open(id: number): HostMap & { typed: NonNullable<HostMap['typed']> } {
  const h = openHostMap(id);
  if (!h.typed) {
    h.close();
    throw new CliError(`map id ${id}: a ${h.info.typeName} has no elements to read or write from user space`, 1, 'USAGE');
  }
  return h as HostMap & { typed: NonNullable<HostMap['typed']> };
}

export interface MapDumpOptions {
  json?: boolean;
  pretty?: boolean;
  /** At most this many elements. */
  limit?: string;
}

/** `tsbpf map dump ID`: every element, decoded through the map's BTF. */
export function mapDump(io: CliIo, words: string[], opts: MapDumpOptions): void {
  const id = parseId(words, 'map dump');
  const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
  if (!(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) throw new CliError(`--limit must be a whole number, not ${opts.limit}`, 1, 'USAGE');
  using h = open(id);
  const perCpu = h.typed instanceof PerCpuMap;
  const rows: unknown[] = [];
  for (const [key, value] of h.typed.entries()) {
    if (rows.length >= limit) break;
    rows.push(
      perCpu
        ? { key: toJsonData(key), values: (value as unknown[]).map((v, cpu) => ({ cpu, value: toJsonData(v) })) }
        : { key: toJsonData(key), value: toJsonData(value) },
    );
  }
  if (opts.json) return printJson(io, rows, opts.pretty);
  for (const r of rows as { key: unknown; value?: unknown; values?: unknown }[]) {
    io.out(`key: ${jsonText(r.key)}  ${r.values ? `values: ${jsonText(r.values)}` : `value: ${jsonText(r.value)}`}\n`);
  }
  if (rows.length === 0) io.out(`map id ${id} (${h.info.name || h.info.typeName}): no elements\n`);
}

/** A key or value from the command line: JSON, or (not JSON) the text itself (hex bytes, an address). */
function parseArg(text: string | undefined, what: string): unknown {
  if (text === undefined) throw new CliError(`--${what} is required`, 1, 'USAGE');
  try {
    return JSON.parse(quoteBigIntegers(text)) as unknown;
  } catch {
    return text;
  }
}

/**
 * JSON with every integer beyond 2^53 turned into a string of its digits
 * (the codecs take those for 64-bit fields), so that JSON.parse does not
 * round 18446744073709551615 to a double.
 */
function quoteBigIntegers(text: string): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      const token = m ? m[0] : c;
      out += m && !m[1] && !m[2] && !Number.isSafeInteger(Number(token)) ? `"${token}"` : token;
      i += token.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** `tsbpf map lookup ID --key JSON`. */
export function mapLookup(io: CliIo, words: string[], opts: { key?: string; json?: boolean }): void {
  using h = open(parseId(words, 'map lookup'));
  const key = fromJsonData(h.key, parseArg(opts.key, 'key'));
  const value = h.typed.get(key);
  if (value === undefined) throw new CliError(`map id ${h.info.id}: no element with key ${jsonText(toJsonData(key))}`, 1, 'COMMAND_FAILED');
  printJson(io, opts.json ? { key: toJsonData(key), value: toJsonData(value) } : toJsonData(value));
}

/** `tsbpf map update ID --key JSON --value JSON [--flags any|noexist|exist]`. */
export function mapUpdate(io: CliIo, words: string[], opts: { key?: string; value?: string; flags?: string }): void {
  using h = open(parseId(words, 'map update'));
  const flags = opts.flags ?? 'any';
  if (flags !== 'any' && flags !== 'noexist' && flags !== 'exist') throw new CliError(`--flags must be any, noexist or exist, not ${flags}`, 1, 'USAGE');
  const key = fromJsonData(h.key, parseArg(opts.key, 'key'));
  const raw = parseArg(opts.value, 'value');
  const value = Array.isArray(raw) && h.typed instanceof PerCpuMap ? raw.map((v) => fromJsonData(h.value, v)) : fromJsonData(h.value, raw);
  h.typed.set(key, value as never, { flags });
  io.out(`map id ${h.info.id}: updated\n`);
}

/** `tsbpf map delete ID --key JSON`. */
export function mapDelete(io: CliIo, words: string[], opts: { key?: string }): void {
  using h = open(parseId(words, 'map delete'));
  const key = fromJsonData(h.key, parseArg(opts.key, 'key'));
  if (!h.typed.delete(key)) throw new CliError(`map id ${h.info.id}: no element with key ${jsonText(toJsonData(key))}`, 1, 'COMMAND_FAILED');
  io.out(`map id ${h.info.id}: deleted\n`);
}
