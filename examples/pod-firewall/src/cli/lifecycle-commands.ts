/**
 * The `pod-firewall` commands that change the cluster rather than its
 * policies: `up` (make one, or bring a running one in line with its file),
 * `pod add`, `pod delete` and `label`, one function each, with the parsing
 * of their arguments (`k=v`, `k-`, `PORT[/PROTOCOL][:NAME]`).
 */
import { InvalidArgumentError } from 'commander';
import { withContext } from '@tsbpf/object';
import { CliError } from '../errors.js';
import { PodFirewall, type ReconcileResult } from '../firewall.js';
import { parseClusterFile } from '../policy/cluster-file.js';
import type { Cluster, Labels, Protocol } from '../policy/model.js';
import { describeCluster, indent, out, readText, requireRoot, seconds } from './plumbing.js';

/** `k=v,k2=v2` (commas or repeated flags) into labels. */
export function labelList(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const labels = { ...previous };
  for (const item of value.split(',').filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${item}" is not key=value`);
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return labels;
}

export interface PortArg {
  readonly port: number;
  readonly protocol: Protocol;
  readonly name?: string;
}

/** `80`, `80/UDP`, `80/TCP:http` (repeatable). */
export function portArg(value: string, previous: PortArg[] = []): PortArg[] {
  const m = /^(\d+)(?:\/(TCP|UDP|SCTP))?(?::(.+))?$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not PORT[/PROTOCOL][:NAME], e.g. 80/TCP:http`);
  const port: PortArg = { port: Number(m[1]), protocol: (m[2]?.toUpperCase() ?? 'TCP') as Protocol, ...(m[3] ? { name: m[3] } : {}) };
  return [...previous, port];
}

/** `kubectl label` changes: `k=v` sets, `k-` removes. */
export function labelChanges(items: readonly string[]): { set: Labels; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const item of items) {
    if (item.endsWith('-') && !item.includes('=')) remove.push(item.slice(0, -1));
    else if (item.indexOf('=') > 0) set[item.slice(0, item.indexOf('='))] = item.slice(item.indexOf('=') + 1);
    else throw new CliError('ARGUMENT_INVALID', `"${item}" is neither key=value nor key-`);
  }
  return { set, remove };
}

const list = (xs: readonly string[]) => xs.join(', ');

function describeReconcile(r: ReconcileResult): string[] {
  const lines: string[] = [];
  const c = r.change;
  if (r.repair) {
    const { strays, reactivated, agentsRestarted, recreated } = r.repair;
    if (strays.length) lines.push(`removed what an interrupted command left: ${list(strays)}`);
    if (reactivated.length) lines.push(`reconnected pods an interrupted command had cut off: ${list(reactivated)}`);
    if (agentsRestarted.length) lines.push(`restarted agents that were not running: ${list(agentsRestarted)}`);
    if (recreated.length) lines.push(`made anew pods whose namespace or veth had gone: ${list(recreated)}`);
  }
  if (c) {
    if (c.added.length) lines.push(`pods added: ${list(c.added)}`);
    if (c.removed.length) lines.push(`pods removed: ${list(c.removed)}`);
    if (c.recreated.length) lines.push(`pods made anew (new address): ${list(c.recreated)}`);
    if (c.relabeled.length) lines.push(`pods relabelled: ${list(c.relabeled)}`);
    if (c.namespacesRelabeled.length) lines.push(`namespaces relabelled: ${list(c.namespacesRelabeled)}`);
    if (c.portsChanged.length) lines.push(`container ports changed: ${list(c.portsChanged)}`);
  }
  for (const p of r.policiesDeleted) lines.push(`networkpolicy ${p} deleted with its namespace`);
  return lines;
}

export async function upCommand(file: string, name: string, fastPath?: boolean): Promise<void> {
  requireRoot();
  const text = readText(file);
  const parse = (running?: Cluster) => withContext(file, () => parseClusterFile(text, running));
  parse(); // a bad file fails before anything waits for the lock
  const started = performance.now();
  // Parsed again under the lock, against the running cluster: its pods keep their addresses where the file gives none.
  const r = await PodFirewall.reconcile(parse, { name, ...(fastPath === undefined ? {} : { fastPath }) });
  const cluster = r.fw.cluster;
  const namespaces = cluster.namespaces.map((n) => n.name).join(', ');
  const took = seconds(performance.now() - started);
  if (!r.wasUp) {
    out(`${name}: ${cluster.pods.length} pods in ${cluster.namespaces.length} namespaces (${namespaces}) up in ${took}`);
    out(indent(describeCluster(cluster)));
    out('No NetworkPolicy yet: everything is allowed. Next: pod-firewall apply POLICY.yaml');
    return;
  }
  const changes = describeReconcile(r);
  out(
    `${name}: ${changes.length === 0 ? 'already as the file says' : 'brought in line with the file'}; ${cluster.pods.length} pods in ${cluster.namespaces.length} namespaces (${namespaces}), ${r.fw.policies.length} policies kept (${took})`,
  );
  for (const line of changes) out(`  ${line}`);
}

/** 'ns/name' of a pod, checked for its shape. */
function podName(key: string): { namespace: string; name: string } {
  const parts = key.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new CliError('ARGUMENT_INVALID', `"${key}" is not namespace/pod`);
  return { namespace: parts[0], name: parts[1] };
}

export function podAddCommand(key: string, name: string, opts: { labels?: Labels; port?: PortArg[]; ip?: string; namespaceLabels?: Labels }): void {
  requireRoot();
  const { namespace, name: pod } = podName(key);
  using fw = PodFirewall.open({ name });
  const started = performance.now();
  const added = fw.addPod(
    { namespace, name: pod, labels: opts.labels ?? {}, ports: opts.port ?? [], ...(opts.ip ? { ip: opts.ip } : {}) },
    opts.namespaceLabels ?? {},
  );
  out(`pod ${key} added at ${added.ip} (${seconds(performance.now() - started)}); ${fw.policies.length} policies in force apply to it`);
}

export function podDeleteCommand(key: string, name: string): void {
  requireRoot();
  podName(key);
  using fw = PodFirewall.open({ name });
  fw.deletePod(key);
  out(`pod ${key} deleted`);
}

export function labelCommand(kind: string, target: string, items: readonly string[], name: string, overwrite: boolean): void {
  const k =
    kind === 'pod' || kind === 'pods' || kind === 'po' ? 'pod' : kind === 'namespace' || kind === 'namespaces' || kind === 'ns' ? 'namespace' : undefined;
  if (!k) throw new CliError('ARGUMENT_INVALID', `"${kind}" is neither pod nor namespace`);
  if (k === 'pod') podName(target);
  const { set, remove } = labelChanges(items);
  using fw = PodFirewall.open({ name });
  const labels = fw.label(k, target, set, remove, overwrite);
  out(
    `${k} ${target} labeled: ${
      Object.entries(labels)
        .map(([a, b]) => `${a}=${b}`)
        .join(',') || '(none)'
    }`,
  );
}
