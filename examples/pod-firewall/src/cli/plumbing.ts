/**
 * What the `pod-firewall` commands and the demo share: printing, reading the
 * files they are given (parse errors get the file name as context), the root
 * check, adopting the running instance, naming things in flow events, and
 * the apply step both the `apply` command and the demo print as kubectl does.
 */
import { readFileSync } from 'node:fs';
import { TsbpfError, withContext } from '@tsbpf/object';
import { CliError } from '../errors.js';
import { PodFirewall, type ProbePort } from '../firewall.js';
import { monotonicClock, table, type EventLookup } from '../format.js';
import { podKey, policyKey, type Cluster, type NetworkPolicy } from '../policy/model.js';

export const out = (text = '') => void process.stdout.write(`${text}\n`);
export const indent = (text: string, by = '  ') => text.replace(/^(?=.)/gm, by);
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A file's text ('-' is standard input); a missing file is the user's mistake, not ours. */
function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError('FILE_UNREADABLE', err.code === 'ENOENT' ? 'no such file' : err.message, { cause: e }).addContext(file);
  }
}

/** A file parsed; its errors (which name the field and line already) get the file name in front. */
export function parsed<T>(file: string, parse: (text: string) => T): T {
  const text = readText(file);
  return withContext(file, () => parse(text));
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CliError('NOT_ROOT', 'needs root: it creates network namespaces and loads BPF programs (try sudo)');
  }
}

/** Whether an instance of this name is up and can be adopted. */
export function isUp(name: string): boolean {
  try {
    PodFirewall.open({ name }).close();
    return true;
  } catch (e) {
    if (TsbpfError.is(e)) return false;
    throw e;
  }
}

/** SCTP is never probed (this kernel has no SCTP), so it is left out of the tables rather than shown as unknown. */
export const probedPorts = (fw: PodFirewall): ProbePort[] => fw.servedPorts().filter((p) => p.protocol !== 'SCTP');

/** Names for events. With `name`, a policy id we do not know is looked up again in the saved state: it was applied after we opened. */
export function eventLookup(fw: PodFirewall, name?: string): EventLookup {
  const known = new Map<number, string>();
  const reread = (id: number): string | undefined => {
    if (name === undefined) return undefined;
    try {
      using now = PodFirewall.open({ name });
      return now.policyName(id);
    } catch (e) {
      if (TsbpfError.is(e)) return undefined; // taken down meanwhile
      throw e;
    }
  };
  return {
    pod: (ip) => fw.podByIp(ip),
    policy: (id) => {
      const found = known.get(id) ?? fw.policyName(id) ?? reread(id);
      if (found !== undefined) known.set(id, found);
      return found;
    },
    time: monotonicClock(process.hrtime.bigint(), Date.now()),
  };
}

export function describeCluster(cluster: Cluster): string {
  return table([
    ['POD', 'IP', 'LABELS', 'PORTS'],
    ...cluster.pods.map((p) => [
      podKey(p),
      p.ip,
      Object.entries(p.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      p.ports.map((c) => `${c.port}/${c.protocol}`).join(',') || '-',
    ]),
  ]);
}

/** Creates or replaces policies, printing one line per policy as kubectl apply does. */
export function applyPolicies(fw: PodFirewall, policies: readonly NetworkPolicy[]): string[] {
  const existing = new Set(fw.policies.map(policyKey));
  const result = fw.apply(policies);
  return [
    ...policies.map((p) => `networkpolicy ${policyKey(p)} ${existing.has(policyKey(p)) ? 'configured' : 'created'}`),
    `(${result.entries} policy map entries, switched over in ${result.milliseconds.toFixed(1)} ms)`,
  ];
}
