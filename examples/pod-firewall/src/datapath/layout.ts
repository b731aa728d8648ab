import { array, cidrKey, ipv4, struct, u16, u32, u64, u8, type Infer } from '@tsbpf/maps';

/**
 * The datapath's map layouts, mirroring the structs of bpf/firewall.bpf.c
 * (the suite checks each codec's size against the object's BTF).
 */

export const endpointValue = struct({ endpointId: u32, identity: array(u32, 2), flags: array(u8, 2), pad: u16 });
export type EndpointValue = Infer<typeof endpointValue>;

export const ipcacheKey = cidrKey('ipv4');
export const ipcacheValue = struct({ identity: array(u32, 2), cidrIdentity: array(u32, 2), ifindex: u32 });
export type IpcacheValue = Infer<typeof ipcacheValue>;

export const policyKey = struct({ endpointId: u32, peer: u32, port: u16, proto: u8, dirGen: u8 });
export type PolicyKey = Infer<typeof policyKey>;
export const policyValue = struct({ policyId: u32 });

export const configValue = struct({ generation: u32 });

export const counterValue = struct({ packets: u64, bytes: u64 });

export const flowEvent = struct({
  timestampNs: u64,
  saddr: ipv4,
  daddr: ipv4,
  sport: u16,
  dport: u16,
  proto: u8,
  dir: u8,
  verdict: u8,
  reason: u8,
  ifindex: u32,
  endpointId: u32,
  endpointIdentity: u32,
  peerIdentity: u32,
  policyId: u32,
});
export type FlowEvent = Infer<typeof flowEvent>;

/** `enum reason` of the datapath, by value. */
export const REASONS = [
  'unmanaged',
  'allow-ct',
  'allow-policy',
  'allow-unenforced',
  'deny-policy',
  'pass-non-ipv4',
  'drop-malformed',
  'event-lost',
] as const;
export const VERDICTS: Record<number, string> = { 1: 'ALLOWED', 2: 'DENIED' };
