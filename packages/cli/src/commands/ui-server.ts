/**
 * The inspector's HTTP server (node:http, bound to 127.0.0.1): a random
 * token in every path, Host checked (no DNS rebinding), the page and its
 * script, a JSON API (programs with their costs, maps, links; one map's
 * elements decoded through its BTF, a page at a time) and a ring buffer's
 * records decoded live as server-sent events.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RingBufferReader,
  costsBetween,
  enableStats,
  listLinks,
  listMaps,
  mapFromId,
  mapInfo,
  statsSnapshot,
  statsSysctlEnabled,
  type ProgramCost,
  type StatsHandle,
  type StatsSnapshot,
} from '@tsbpf/loader';
import { MapType } from '@tsbpf/object';
import { hostRecordCodec, jsonText, openHostMap, PerCpuMap, toJsonData } from '@tsbpf/maps';
import { CliError } from '../errors.js';
import { linkJson, mapJson } from './kernel-json.js';
import { PAGE_HTML, PAGE_SCRIPT } from './ui-page.js';

export interface InspectorOptions {
  /** Port on 127.0.0.1 (0: any free one). */
  port?: number;
  /** Statistics refresh in milliseconds (default 1000). */
  intervalMs?: number;
}

export interface Inspector {
  /** The page's address, token included. */
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const MAX_PAGE = 500;

/** Starts the inspector; close() stops the server, the streams and the statistics. */
export async function startInspector(options: InspectorOptions = {}): Promise<Inspector> {
  const token = randomBytes(16).toString('hex');
  const intervalMs = options.intervalMs ?? 1000;
  let stats: StatsHandle | undefined;
  try {
    stats = enableStats();
  } catch {
    stats = undefined;
  }
  let previous: StatsSnapshot | undefined = statsSnapshot();
  let costs: ProgramCost[] = costsBetween(undefined, previous);
  const timer = setInterval(() => {
    try {
      const now = statsSnapshot();
      costs = costsBetween(previous, now);
      previous = now;
    } catch {
      // The next tick tries again.
    }
  }, intervalMs);
  const streams = new Set<() => void>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        send(
          res,
          e instanceof CliError && e.code === 'USAGE' ? 400 : 500,
          'application/json',
          JSON.stringify({ error: e instanceof Error ? e.message : String(e) }),
        );
      else res.end();
    });
  });

  let port = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'text/plain', 'wrong Host\n');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const [, given = '', ...rest] = url.pathname.split('/');
    if (!sameToken(given, token)) return send(res, 404, 'text/plain', 'not found\n');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only\n');
    const path = rest.join('/');
    const statsOn = stats !== undefined || statsSysctlEnabled();
    switch (path) {
      case '':
        return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case 'app.js':
        return send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
      case 'api/overview':
        return sendJson(res, {
          statsOn,
          intervalMs,
          programs: costs.map((c) => ({ ...c, cpuPercent: Number(c.cpuPercent.toFixed(3)) })),
          maps: listMaps().map(mapJson),
          links: listLinks().map((l) => linkJson(l)),
        });
      case 'api/map':
        return sendJson(res, mapPage(numberParam(url, 'id', 0), numberParam(url, 'offset', 0), Math.min(numberParam(url, 'limit', 50), MAX_PAGE)));
      case 'api/ring':
        return ringStream(req, res, numberParam(url, 'id', 0), url.searchParams.get('record') ?? undefined, streams);
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/${token}/`;
  return {
    url,
    token,
    close: async () => {
      clearInterval(timer);
      for (const stop of streams) stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stats?.close();
    },
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function numberParam(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  const n = text === null ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CliError(`${name} must be a whole number, not ${text}`, 1, 'USAGE');
  return n;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, data: unknown): void {
  send(res, 200, 'application/json', jsonText(data));
}

/** One page of a map's elements, decoded through its BTF. */
function mapPage(id: number, offset: number, limit: number): unknown {
  using h = openHostMap(id);
  const entries: unknown[] = [];
  let more = false;
  if (h.typed) {
    const perCpu = h.typed instanceof PerCpuMap;
    let i = 0;
    for (const [key, value] of h.typed.entries()) {
      if (i++ < offset) continue;
      if (entries.length === limit) {
        more = true;
        break;
      }
      entries.push(perCpu ? { key: toJsonData(key), values: toJsonData(value) } : { key: toJsonData(key), value: toJsonData(value) });
    }
  }
  return { map: mapJson(h.info), readable: h.typed !== undefined, offset, limit, entries, more };
}

/** Server-sent events: each record of ring buffer `id`, decoded (hex when no record type is known), until the client goes. */
async function ringStream(req: IncomingMessage, res: ServerResponse, id: number, record: string | undefined, streams: Set<() => void>): Promise<void> {
  const info = mapInfo(id);
  if (info.type !== MapType.ringbuf) return send(res, 400, 'text/plain', `map ${id} is a ${info.typeName}, not a ring buffer\n`);
  const codec = hostRecordCodec(info, record);
  const map = mapFromId(id);
  let reader: RingBufferReader;
  try {
    reader = new RingBufferReader(map);
  } catch (e) {
    map.close();
    throw e;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(`event: ready\ndata: ${jsonText({ map: info.name, record: codec?.name ?? null })}\n\n`);
  let open = true;
  const stop = () => {
    open = false;
  };
  streams.add(stop);
  req.on('close', stop);
  try {
    while (open) {
      reader.consumeAt((view, offset, length) => {
        let data: unknown;
        if (codec && length >= codec.size) data = toJsonData(codec.decode(view, offset));
        else data = toJsonData(new Uint8Array(view.buffer, view.byteOffset + offset, length).slice());
        res.write(`event: record\ndata: ${jsonText(data)}\n\n`);
      });
      await reader.wait(200);
    }
  } finally {
    streams.delete(stop);
    reader.close();
    map.close();
    res.end();
  }
}
