/**
 * The `pod-firewall` commands other than the demo, one function each: they
 * parse what they are given, call PodFirewall and print through format.ts.
 * The state lives in the kernel (pinned maps and links) and in /run/<name>,
 * so every command is a short-lived process, as kubectl is.
 */
import { CliError, FirewallError } from '../errors.js';
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
import { parsePolicies } from '../policy/manifests.js';
import { namespacedName, podKey, policyKey } from '../policy/model.js';
import { applyPolicies, eventLookup, isUp, out, parsed, probedPorts, requireRoot } from './plumbing.js';

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
  // Which exist is decided under the lock, with the deletion: another command may have just changed them.
  const { deleted, missing } = fw.remove(keys);
  for (const k of deleted) out(`networkpolicy ${k} deleted`);
  if (missing.length > 0) {
    throw new CliError('POLICY_NOT_FOUND', `no networkpolicy ${missing.join(', ')} (have: ${fw.policies.map(policyKey).join(', ') || 'none'})`);
  }
}

export function statusCommand(name: string, json: boolean): void {
  using fw = PodFirewall.open({ name });
  const status = fw.status();
  if (json) return out(toJson(status, 2));
  out(formatStatus(status));
  out();
  out(
    status.enforced
      ? 'The live map generation holds exactly these policies and labels.'
      : `NOT ENFORCED AS LISTED: the live map generation differs (${status.mismatches.join('; ')}); pod-firewall up CLUSTER.yaml repairs it`,
  );
  if (status.interrupted) out(`A command that changed pods was interrupted (${status.interrupted}); the next change repairs what it left.`);
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
  let joins = 0;
  const said = (readsRing: boolean) =>
    process.stderr.write(
      `${joins++ === 0 ? 'observing flow events of' : 'the observer that read the ring buffer went; still observing'} ${name} (${readsRing ? "this process reads the datapath's ring buffer" : 'relayed by the observer that reads it'}; Ctrl-C stops)\n`,
    );
  using ring = fw.observe(abort.signal, said);
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
  const { results, failedAgents } = await fw.probeReport(ports, opts.timeout);
  if (opts.json) {
    out(toJson({ pods, ports, results: Object.fromEntries(results), denied: deniedFlows(results), failedAgents: Object.fromEntries(failedAgents) }, 2));
  } else {
    out(opts.compact ? formatCombinedMatrix(pods, results, ports) : formatMatrix(pods, results, ports));
    out();
    out(`${summarizeProbe(results)} ('.' connected, 'X' blocked, '-' self, '?' not measured)`);
  }
  if (failedAgents.size > 0) {
    const which = [...failedAgents].map(([pod, why]) => `  ${pod}: ${why}`).join('\n');
    throw new FirewallError(
      'AGENT_FAILED',
      `the agents of ${failedAgents.size} pods did not answer; their flows are not measured ('?'):\n${which}\n(pod-firewall up CLUSTER.yaml restarts them)`,
    );
  }
}

export function downCommand(name: string): void {
  requireRoot();
  const was = isUp(name);
  PodFirewall.down({ name });
  out(was ? `${name}: down (namespaces, agents, programs, maps and pins removed)` : `${name}: nothing was up; cleaned up anyway`);
}
