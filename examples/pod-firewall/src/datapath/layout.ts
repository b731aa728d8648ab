/**
 * The datapath's map layouts under the names the controller uses: the
 * codecs and types tsbpf gen derived from bpf/firewall.bpf.c's BTF
 * (bindings.ts), and the names of the datapath's reasons and verdicts.
 */
import { mapCodecs, recordCodecs, type Endpoint, type FlowEvent, type IpcacheValue, type PolicyKey, type PortRangeKey } from './bindings.js';

export type { FlowEvent, IpcacheValue, PolicyKey, PortRangeKey };
export type EndpointValue = Endpoint;

export const endpointValue = mapCodecs.endpoints.value;
export const ipcacheKey = mapCodecs.ipcache.key;
export const ipcacheValue = mapCodecs.ipcache.value;
export const policyKey = mapCodecs.policy.key;
export const policyValue = mapCodecs.policy.value;
export const portRangeKey = mapCodecs.port_ranges.key;
export const fragKey = mapCodecs.frags.key;
export const fragValue = mapCodecs.frags.value;
export const ctKey = mapCodecs.ct.key;
export const configValue = mapCodecs.config.value;
export const counterValue = mapCodecs.counters.value;
export const podAddressKey = mapCodecs.local_pods.key;
export const localPodValue = mapCodecs.local_pods.value;
export const flowEvent = recordCodecs.events;

/** `enum reason` of the datapath, by value, as the controller names them (bindings.test.ts holds them to the C). */
export const REASONS = [
  'unmanaged',
  'allow-ct',
  'allow-policy',
  'allow-unenforced',
  'deny-policy',
  'pass-non-ipv4',
  'drop-malformed',
  'event-lost',
  'drop-spoofed',
  'drop-fragment',
] as const;

/** `enum verdict` of the datapath, as the controller shows them. */
export const VERDICTS: Record<number, string> = { 1: 'ALLOWED', 2: 'DENIED' };
