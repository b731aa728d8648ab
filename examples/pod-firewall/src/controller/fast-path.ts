/**
 * The local fast path's switch and its map: when an instance runs with the
 * fast path on, `local_pods` names each pod of the node (address -> host veth
 * ifindex, the pod's MAC, its gateway's MAC), and from_pod delivers what it
 * allowed between two of them straight into the destination pod
 * (bpf_redirect_peer), skipping to_pod and the node's routing; with it off the
 * map is empty and every packet takes the node's routing. The programs are
 * loaded with the choice too (the `fast_path` constant, frozen in `.rodata`):
 * off, the verifier removes the `local_pods` lookup, so an allowed packet pays
 * nothing for a fast path it does not take. A pod leaves the map before it is
 * cut off and enters it once it is up.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap } from '@tsbpf/maps';
import type { CollectionSpec } from '@tsbpf/object';
import { HOST_MAC, podMac, type PodNetwork } from '../cluster/topology.js';
import { localPodValue, podAddressKey } from '../datapath/layout.js';
import { podKey, type Cluster } from '../policy/model.js';
import type { InstanceDirs, StateFile } from './instance.js';

/** The environment variable that gives `up`'s default when its caller names none ("off": off). */
export const FAST_PATH_ENV = 'POD_FIREWALL_FAST_PATH';

/** `up`'s choice: the option when given, else on unless POD_FIREWALL_FAST_PATH is "off". */
export function fastPathDefault(option?: boolean): boolean {
  return option ?? process.env[FAST_PATH_ENV] !== 'off';
}

/** Whether an instance runs with the fast path (states saved before it existed: off). */
export const fastPathOn = (file: StateFile) => file.fastPath === true;

/** The name of the switch in the datapath's `.rodata`. */
export const FAST_PATH_CONSTANT = 'fast_path';

/** The constants to load `spec` with for the choice `on`: none when the object has no switch (it always looks the map up). */
export function fastPathConstants(spec: CollectionSpec, on: boolean): Record<string, boolean> {
  const has = Object.values(spec.maps).some((m) => m.kind === 'rodata' && m.variables.some((v) => v.name === FAST_PATH_CONSTANT));
  return has ? { [FAST_PATH_CONSTANT]: on } : {};
}

const macBytes = (mac: string) => Uint8Array.from(mac.split(':').map((b) => parseInt(b, 16)));

function openLocalPods(dirs: InstanceDirs) {
  const pin = join(dirs.pins, 'local_pods');
  // A datapath from before the fast path has no such map: nothing to keep.
  return existsSync(pin) ? new TypedMap(BpfMap.fromPin(pin), podAddressKey, localPodValue) : undefined;
}

/**
 * Makes `local_pods` hold exactly the pods of `cluster` whose veths `pods`
 * names when `on` (and `only`, when given, has them), nothing when off.
 */
export function syncFastPath(dirs: InstanceDirs, on: boolean, cluster: Cluster, pods: readonly PodNetwork[], only?: readonly string[]): void {
  using map = openLocalPods(dirs);
  if (!map) return;
  const net = new Map(pods.map((p) => [p.pod, p]));
  const keep = only ? new Set(only) : undefined;
  const want = new Map<string, { ifindex: number; podMac: Uint8Array; gwMac: Uint8Array }>();
  if (on) {
    for (const pod of cluster.pods) {
      const n = net.get(podKey(pod));
      if (!n || (keep && !keep.has(n.pod))) continue;
      want.set(pod.ip, { ifindex: n.ifindex, podMac: macBytes(podMac(pod.ip)), gwMac: macBytes(HOST_MAC) });
    }
  }
  const stale = [...map.keys()].filter((ip) => !want.has(ip));
  if (stale.length > 0) map.deleteMany(stale);
  if (want.size > 0) map.setMany([...want]);
}

/** Takes pods out of `local_pods` (before they are cut off: nothing is delivered past a down veth). */
export function forgetFastPath(dirs: InstanceDirs, addresses: readonly string[]): void {
  using map = openLocalPods(dirs);
  if (!map || addresses.length === 0) return;
  for (const ip of addresses) map.delete(ip);
}
