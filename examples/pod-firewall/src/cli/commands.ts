/**
 * The `pod-firewall` commands other than the demo, one function each: they
 * parse what they are given, call PodFirewall and print through format.ts.
 * The state lives in the kernel (pinned maps and links) and in /run/<name>,
 * so every command is a short-lived process, as kubectl is.
 */
import { CliError } from '../errors.js';
import { PodFirewall } from '../firewall.js';
import {
  deniedFlows,
  flowEventJson,
  formatCombinedMatrix,
  formatFlowEvent,
  formatMatrix,
  formatStatus,
  summarizeProbe,
  toJson,
  verdictName,
} from '../format.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { namespacedName, podKey, policyKey } from '../policy/model.js';
import { applyPolicies, describeCluster, eventLookup, indent, isUp, out, parsed, probedPorts, requireRoot, seconds } from './plumbing.js';

export async function upCommand(file: string, name: string): Promise<void> {
  const cluster = parsed(file, parseCluster);
  requireRoot();
  const replacing = isUp(name);
  const started = performance.now();
  const fw = await PodFirewall.up(cluster, { name });
  fw.close();
  const namespaces = cluster.namespaces.map((n) => n.name).join(', ');
  out(
    `${name}: ${replacing ? 'replaced the running cluster; ' : ''}${cluster.pods.length} pods in ${cluster.namespaces.length} namespaces (${namespaces}) up in ${seconds(performance.now() - started)}`,
  );
  out(indent(describeCluster(cluster)));
  out('No NetworkPolicy yet: everything is allowed. Next: pod-firewall apply POLICY.yaml');
}

export function applyCommand(file: string, name: string): void {
  // Parsed before anything is opened: a bad file changes nothing, whether or not a cluster is up.
  const policies = parsed(file, parsePolicies);
  if (policies.length === 0) throw new CliError('NO_POLICY', 'no NetworkPolicy in it').addContext(file);
  using fw = PodFirewall.open({ name });
  for (const line of applyPolicies(fw, policies)) out(line);
}

export function deleteCommand(names: readonly string[], name: string): void {
  // As kubectl: a bare name is in namespace 'default'.
  const keys = [...new Set(names.map((n) => (n.includes('/') ? n : namespacedName('default', n))))];
  using fw = PodFirewall.open({ name });
  const existing = new Set(fw.policies.map(policyKey));
  const found = keys.filter((k) => existing.has(k));
  const missing = keys.filter((k) => !existing.has(k));
  if (found.length > 0) fw.delete(found);
  for (const k of found) out(`networkpolicy ${k} deleted`);
  if (missing.length > 0) {
    throw new CliError('POLICY_NOT_FOUND', `no networkpolicy ${missing.join(', ')} (have: ${[...existing].join(', ') || 'none'})`);
  }
}

export function statusCommand(name: string, json: boolean): void {
  using fw = PodFirewall.open({ name });
  const status = fw.status();
  out(json ? toJson(status, 2) : formatStatus(status));
}

/** Aborts on Ctrl-C (or SIGTERM) instead of dying, so streams end cleanly; the returned function unhooks it. */
function onInterrupt(abort: AbortController): () => void {
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

export async function observeCommand(name: string, opts: { verdict?: 'allowed' | 'denied'; json?: boolean }): Promise<void> {
  using fw = PodFirewall.open({ name });
  const abort = new AbortController();
  const unhook = onInterrupt(abort);
  const lookup = eventLookup(fw, name);
  using ring = fw.observe(abort.signal);
  try {
    for await (const e of ring) {
      if (opts.verdict && verdictName(e.verdict).toLowerCase() !== opts.verdict) continue;
      out(opts.json ? toJson(flowEventJson(e, lookup)) : formatFlowEvent(e, lookup));
    }
  } finally {
    unhook();
  }
}

export async function probeCommand(name: string, opts: { json?: boolean; timeout: number; compact?: boolean }): Promise<void> {
  using fw = PodFirewall.open({ name });
  const pods = fw.cluster.pods.map(podKey);
  const ports = probedPorts(fw);
  const results = await fw.probe(ports, opts.timeout);
  if (opts.json) {
    out(toJson({ pods, ports, results: Object.fromEntries(results), denied: deniedFlows(results) }, 2));
    return;
  }
  out(opts.compact ? formatCombinedMatrix(pods, results, ports) : formatMatrix(pods, results, ports));
  out();
  out(`${summarizeProbe(results)} ('.' connected, 'X' blocked, '-' self)`);
}

export function downCommand(name: string): void {
  requireRoot();
  const was = isUp(name);
  PodFirewall.down({ name });
  out(was ? `${name}: down (namespaces, agents, programs, maps and pins removed)` : `${name}: nothing was up; cleaned up anyway`);
}
