/**
 * `pod-firewall demo`, what `npm start` runs: a cluster of network
 * namespaces, a probe without policy, policies/demo.yaml applied, a probe
 * with its flow events, the counters, and everything torn down at the end,
 * also after a failure or Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../cluster/agents.js';
import { existingNetns } from '../cluster/topology.js';
import { instanceDirs } from '../controller/instance.js';
import type { FlowEvent } from '../datapath/layout.js';
import { CliError } from '../errors.js';
import { PodFirewall, type ProbePort } from '../firewall.js';
import { formatCombinedMatrix, formatCounters, formatFlowEvent, pickEvents, summarizeProbe } from '../format.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey } from '../policy/model.js';
import { applyPolicies, eventLookup, indent, out, parsed, probedPorts, requireRoot, seconds } from './plumbing.js';

/** The demo's instance name: its own, so it never touches a cluster the user brought up. */
export const DEMO_NAME = 'pf-demo';

/** What policies/demo.yaml means, to read the next matrix by (the file's comments say the same). */
const DEMO_POLICY_GIST = [
  'expect: nothing gets into namespace x, except y/b -> x/a on TCP 80;',
  '        z/c sends UDP only: its TCP is dropped as it leaves, its UDP still reaches y and z',
];

// Bold on a terminal only: a log file or a pipe gets plain text.
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const heading = (n: number, text: string) => out(`\n${bold(`${n}. ${text}`)}`);

/** Our namespaces still present; the demo ends by showing this is empty. */
function leftovers(name: string): string[] {
  const mine = existingNetns(name);
  const pins = instanceDirs({ name }).pins;
  return existsSync(pins) ? [...mine, pins] : mine;
}

/**
 * Runs a probe while collecting the flow events it causes. Events already in
 * the ring (from before) are dropped first so only this probe's show.
 */
async function probeObserved(fw: PodFirewall, ports: readonly ProbePort[]): Promise<{ results: Map<string, boolean>; events: FlowEvent[] }> {
  const abort = new AbortController();
  using ring = fw.observe(abort.signal);
  ring.drain();
  const events: FlowEvent[] = [];
  const collecting = ring.consume((e) => void events.push(e));
  const results = await fw.probe(ports);
  // The last verdicts were made before their probe timed out; one poll interval more catches their events.
  await new Promise((r) => setTimeout(r, 100));
  abort.abort();
  await collecting;
  return { results, events };
}

async function demoStory(checkpoint: () => void): Promise<void> {
  const dir = packageDir();
  const cluster = parsed(join(dir, 'clusters', 'demo.yaml'), parseCluster);
  const policies = parsed(join(dir, 'policies', 'demo.yaml'), parsePolicies);
  const pods = cluster.pods.map(podKey);

  out('pod-firewall: Kubernetes NetworkPolicy enforced by eBPF, on network namespaces of this machine');
  heading(1, 'Create a cluster (clusters/demo.yaml)');
  let started = performance.now();
  let fw: PodFirewall | undefined;
  try {
    fw = await PodFirewall.up(cluster, { name: DEMO_NAME });
    const ports = probedPorts(fw);
    const legend = `each cell: ${ports.map((p) => `${p.protocol}/${p.port}`).join(' ')} from the row's pod to the column's ('.' connected, 'X' blocked)`;
    out(
      `  ${pods.length} pods in namespaces ${cluster.namespaces.map((n) => n.name).join(', ')}, each serving ${ports.map((p) => `${p.port}/${p.protocol}`).join(', ')}`,
    );
    out(`  a network namespace per pod, the datapath attached with tcx to each pod's veth (${seconds(performance.now() - started)})`);
    checkpoint();

    heading(2, 'No NetworkPolicy yet: every pod reaches every other pod');
    started = performance.now();
    const before = await fw.probe(ports);
    out(indent(formatCombinedMatrix(pods, before, ports)));
    out(`  ${legend}`);
    out(`  ${summarizeProbe(before)} (probed in ${seconds(performance.now() - started)})`);
    checkpoint();

    heading(3, 'Apply policies/demo.yaml');
    for (const line of applyPolicies(fw, policies)) out(`  ${line}`);
    for (const line of DEMO_POLICY_GIST) out(`  ${line}`);
    checkpoint();

    heading(4, "Probe again, while watching the datapath's flow events");
    started = performance.now();
    const { results, events } = await probeObserved(fw, ports);
    out(indent(formatCombinedMatrix(pods, results, ports)));
    out(`  ${summarizeProbe(results)} (probed in ${seconds(performance.now() - started)})`);
    checkpoint();

    // A few of each kind (verdict, direction, policy), not the first eight denials.
    const shown = pickEvents(events, (x) => `${x.verdict}/${x.dir}/${x.policyId}`, 8);
    heading(5, `Flow events of that probe (${shown.length} of ${events.length}, as hubble observe shows them)`);
    const lookup = eventLookup(fw);
    for (const e of shown) out(`  ${formatFlowEvent(e, lookup)}`);

    heading(6, 'Datapath counters (per-CPU map, summed)');
    out(indent(formatCounters(fw.status().counters)));
  } finally {
    // Also after a failure or Ctrl-C: the demo must leave nothing behind.
    heading(7, 'Tear down');
    fw?.close();
    PodFirewall.down({ name: DEMO_NAME });
    const left = leftovers(DEMO_NAME);
    out(left.length === 0 ? '  namespaces, agents, programs, maps and pins removed: nothing left behind' : `  left behind: ${left.join(', ')}`);
  }
}

export async function demoCommand(): Promise<void> {
  requireRoot();
  const started = performance.now();
  const abort = new AbortController();
  // First Ctrl-C: stop after the current step and tear down. A second one: tear down now.
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    abort.abort();
    if (interrupts > 1) {
      PodFirewall.down({ name: DEMO_NAME });
      process.exit(130);
    }
    process.stderr.write('\ninterrupted: cleaning up (Ctrl-C again to force)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await demoStory(() => {
      if (abort.signal.aborted) throw new CliError('INTERRUPTED', 'interrupted');
    });
    out(`\nDone in ${seconds(performance.now() - started)}. Try it yourself: pod-firewall up ${join(packageDir(), 'clusters', 'demo.yaml')}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
