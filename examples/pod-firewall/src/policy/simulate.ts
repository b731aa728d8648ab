import { addressIn, parseIpv4, parsePrefix } from './cidr.js';
import { DIR_EGRESS, DIR_INGRESS, EP_ENFORCE_EGRESS, EP_ENFORCE_INGRESS, IDENTITY_WORLD, PEER_ANY, PROTOCOL_NUMBERS, type Direction } from './compile.js';
import { podKey, type Flow } from './model.js';
import { livePolicyKey, type Generation, type LiveEndpoint, type LiveIpcacheEntry, type LiveState } from './plan.js';

/**
 * What the datapath (bpf/firewall.bpf.c) decides for the first packet of a
 * new flow between two pods of the node, given the maps' contents: the same
 * lookups in the same order, in pure code. The property tests run it against
 * the oracle, and on every intermediate state of an update.
 */
export function datapathAllows(state: LiveState, flow: Flow): boolean {
  if (podKey(flow.from) === podKey(flow.to)) return true; // never reaches a veth
  const gen = state.generation;
  const proto = PROTOCOL_NUMBERS[flow.protocol];
  const src = state.endpoints.get(podKey(flow.from));
  const dst = state.endpoints.get(podKey(flow.to));
  const srcInfo = lpm(state, flow.from.ip);
  const dstInfo = lpm(state, flow.to.ip);
  // Leaving a managed pod: its egress, and the destination's ingress when that is a pod here, in one go.
  // Otherwise the destination's hook judges its ingress alone.
  if (src && !sideAllows(state, src, gen, DIR_EGRESS, dstInfo, proto, flow.port)) return false;
  const dstHere = src ? (dstInfo?.pod !== undefined ? state.endpoints.get(dstInfo.pod) : undefined) : dst;
  if (dstHere && !sideAllows(state, dstHere, gen, DIR_INGRESS, srcInfo, proto, flow.port)) return false;
  return true;
}

function sideAllows(
  state: LiveState,
  ep: LiveEndpoint,
  gen: Generation,
  dir: Direction,
  peerInfo: LiveIpcacheEntry | undefined,
  proto: number,
  port: number,
): boolean {
  if (!(ep.flags[gen] & (dir === DIR_INGRESS ? EP_ENFORCE_INGRESS : EP_ENFORCE_EGRESS))) return true;
  const peer = peerInfo ? peerInfo.identity[gen] : IDENTITY_WORLD;
  const cidr = peerInfo ? peerInfo.cidrIdentity[gen] : 0;
  const hit = (p: number) => {
    const has = (proto2: number, port2: number) =>
      state.policy.has(livePolicyKey({ generation: gen, endpointId: ep.endpointId, peer: p, dir, proto: proto2, port: port2 }));
    return has(proto, port) || (port !== 0 && has(proto, 0)) || has(0, 0);
  };
  return hit(peer) || (cidr !== 0 && cidr !== peer && hit(cidr)) || hit(PEER_ANY);
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
