/**
 * The datapath's decision for a new flow, in pure code: the same lookups as
 * bpf/firewall.bpf.c in the same order, for the property tests.
 */
import { addressIn, parseIpv4, parsePrefix } from './cidr.js';
import {
  DIR_EGRESS,
  DIR_INGRESS,
  EP_ENFORCE_EGRESS,
  EP_ENFORCE_INGRESS,
  EP_NAMED_EGRESS,
  EP_PEER_ANY_EGRESS,
  EP_PEER_ANY_INGRESS,
  EP_PORT_ANY_EGRESS,
  EP_PORT_ANY_INGRESS,
  EP_PROTO_ANY_EGRESS,
  EP_PROTO_ANY_INGRESS,
  EP_RANGES_EGRESS,
  EP_RANGES_INGRESS,
  IDENTITY_WORLD,
  isRangeEntry,
  PEER_ANY,
  PEER_POD_FLAG,
  PROTOCOL_NUMBERS,
  type Direction,
} from './compile.js';
import { podKey, type Flow } from './model.js';
import { livePolicyKey, type Generation, type LiveEndpoint, type LiveIpcacheEntry, type LiveState } from './plan.js';
import { inBlock } from './port-blocks.js';

/**
 * What the datapath (bpf/firewall.bpf.c) decides for the first packet of a
 * new flow between two pods of the node, given the maps' contents: the same
 * lookups in the same order, in pure code. The property tests run it against
 * the oracle, and on every intermediate state of an update.
 */
export function datapathAllows(state: LiveState, flow: Flow): boolean {
  return datapathDecider(state)(flow);
}

/** `datapathAllows` for many flows against one state that does not change meanwhile (its trie indexed once). */
export function datapathDecider(state: LiveState): (flow: Flow) => boolean {
  // The port_ranges trie, by everything but the port: its blocks for that endpoint, peer, direction and protocol.
  const ranges = new Map<string, { port: number; bits: number }[]>();
  for (const e of state.policy.values()) {
    if (!isRangeEntry(e)) continue;
    const k = rangeGroup(e.generation, e.endpointId, e.peer, e.dir, e.proto);
    ranges.set(k, [...(ranges.get(k) ?? []), { port: e.port, bits: e.portBits }]);
  }
  return (flow) => decide(state, ranges, flow);
}

const rangeGroup = (gen: number, endpointId: number, peer: number, dir: number, proto: number) => `${gen}/${endpointId}/${peer}/${dir}/${proto}`;
type RangeIndex = ReadonlyMap<string, readonly { port: number; bits: number }[]>;

function decide(state: LiveState, ranges: RangeIndex, flow: Flow): boolean {
  if (podKey(flow.from) === podKey(flow.to)) return true; // never reaches a veth
  const gen = state.generation;
  const proto = PROTOCOL_NUMBERS[flow.protocol];
  const src = state.endpoints.get(podKey(flow.from));
  const dst = state.endpoints.get(podKey(flow.to));
  const srcInfo = lpm(state, flow.from.ip);
  const dstInfo = lpm(state, flow.to.ip);
  // Leaving a managed pod: its egress, and the destination's ingress when that is a pod here, in one go.
  // Otherwise the destination's hook judges its ingress alone.
  const dstHere = src ? (dstInfo?.pod !== undefined ? state.endpoints.get(dstInfo.pod) : undefined) : dst;
  if (src && !sideAllows(state, ranges, src, gen, DIR_EGRESS, dstInfo, dstHere, proto, flow.port)) return false;
  if (dstHere && !sideAllows(state, ranges, dstHere, gen, DIR_INGRESS, srcInfo, undefined, proto, flow.port)) return false;
  return true;
}

function sideAllows(
  state: LiveState,
  ranges: RangeIndex,
  ep: LiveEndpoint,
  gen: Generation,
  dir: Direction,
  peerInfo: LiveIpcacheEntry | undefined,
  dstEp: LiveEndpoint | undefined,
  proto: number,
  port: number,
): boolean {
  const flags = ep.flags[gen];
  if (!(flags & (dir === DIR_INGRESS ? EP_ENFORCE_INGRESS : EP_ENFORCE_EGRESS))) return true;
  // The kinds of entries the endpoint's flags say it has: the datapath looks up no others.
  const kind = (ingress: number, egress: number) => (flags & (dir === DIR_INGRESS ? ingress : egress)) !== 0;
  const hasRanges = kind(EP_RANGES_INGRESS, EP_RANGES_EGRESS);
  const hasPortAny = kind(EP_PORT_ANY_INGRESS, EP_PORT_ANY_EGRESS);
  const hasProtoAny = kind(EP_PROTO_ANY_INGRESS, EP_PROTO_ANY_EGRESS);
  const hasPeerAny = kind(EP_PEER_ANY_INGRESS, EP_PEER_ANY_EGRESS);
  const peer = peerInfo ? peerInfo.identity[gen] : IDENTITY_WORLD;
  const cidr = peerInfo ? peerInfo.cidrIdentity[gen] : 0;
  const has = (p: number, proto2: number, port2: number, portBits: number) =>
    state.policy.has(livePolicyKey({ generation: gen, endpointId: ep.endpointId, peer: p, dir, proto: proto2, port: port2, portBits }));
  // The LPM trie: any block of this endpoint, peer, direction and protocol holding the port.
  const inRange = (p: number) => (ranges.get(rangeGroup(gen, ep.endpointId, p, dir, proto)) ?? []).some((b) => inBlock(b, port));
  const hit = (p: number) =>
    has(p, proto, port, 16) || (hasPortAny && port !== 0 && has(p, proto, 0, 0)) || (hasProtoAny && has(p, 0, 0, 0)) || (hasRanges && port !== 0 && inRange(p));
  if (hit(peer) || (cidr !== 0 && cidr !== peer && hit(cidr)) || (hasPeerAny && hit(PEER_ANY))) return true;
  // A named port: the number the destination pod itself gives the name.
  return dstEp !== undefined && (flags & EP_NAMED_EGRESS) !== 0 && port !== 0 && has(PEER_POD_FLAG + dstEp.endpointId, proto, port, 16);
}

function lpm(state: LiveState, ipText: string): LiveIpcacheEntry | undefined {
  const ip = parseIpv4(ipText);
  let best: { len: number; value: LiveIpcacheEntry } | undefined;
  for (const [key, value] of state.ipcache) {
    const p = parsePrefix(key);
    if (addressIn(ip, p) && (!best || p.len > best.len)) best = { len: p.len, value };
  }
  return best?.value;
}
