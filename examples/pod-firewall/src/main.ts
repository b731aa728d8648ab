#!/usr/bin/env node
/**
 * pod-firewall: the command line of the example. Each command parses its
 * arguments, calls PodFirewall and prints through format.ts; the state lives
 * in the kernel (pinned maps and links) and in /run/<name>, so every command
 * is a short-lived process, as kubectl is.
 *
 * Exit codes: 0 ok, 1 a user error (bad file, nothing up, not root), 2 a bug.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { packageDir } from './cluster/agents.js';
import { existingNetns } from './cluster/topology.js';
import type { FlowEvent } from './datapath/layout.js';
import { PodFirewall, type ProbePort } from './firewall.js';
import {
  deniedFlows,
  flowEventJson,
  formatCombinedMatrix,
  formatCounters,
  formatFlowEvent,
  formatMatrix,
  formatStatus,
  monotonicClock,
  pickEvents,
  summarizeProbe,
  table,
  toJson,
  verdictName,
  type EventLookup,
} from './format.js';
import { parseCluster } from './policy/cluster-file.js';
import { PolicyError } from './policy/errors.js';
import { parsePolicies } from './policy/manifests.js';
import type { Cluster, NetworkPolicy } from './policy/model.js';

const VERSION = '0.1.0';
const DEMO_NAME = 'pf-demo';

/** A failure the user can fix: printed as `pod-firewall: <message>`, exit 1, no stack. */
class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Ctrl-C: the commands that made something stop between steps and clean up. */
class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

const out = (text = '') => void process.stdout.write(`${text}\n`);
const indent = (text: string, by = '  ') => text.replace(/^(?=.)/gm, by);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------
// Shared steps

/** A file's text ('-' is standard input); a missing file is the user's mistake, not ours. */
function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

/** Parse errors name the field and line already; only the file name is added. */
function parsed<T>(file: string, parse: (text: string) => T): T {
  const text = readText(file);
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof PolicyError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UserError('needs root: it creates network namespaces and loads BPF programs (try sudo)');
  }
}

/** The instance `up` left; anything that keeps us from adopting it (usually: nothing is up) is the user's to fix. */
function openFirewall(name: string): PodFirewall {
  try {
    return PodFirewall.open({ name });
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^pod-firewall: /, '') : String(e);
    throw new UserError(message);
  }
}

const policyKey = (p: NetworkPolicy) => `${p.metadata.namespace}/${p.metadata.name}`;

/** SCTP is never probed (this kernel has no SCTP), so it is left out of the tables rather than shown as unknown. */
const probedPorts = (fw: PodFirewall): ProbePort[] => fw.servedPorts().filter((p) => p.protocol !== 'SCTP');

/** Names for events. With `name`, a policy id we do not know is looked up again in the saved state: it was applied after we opened. */
function eventLookup(fw: PodFirewall, name?: string): EventLookup {
  const known = new Map<number, string>();
  const reread = (id: number): string | undefined => {
    if (name === undefined) return undefined;
    try {
      using now = PodFirewall.open({ name });
      return now.policyName(id);
    } catch {
      return undefined; // taken down meanwhile
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

function describeCluster(cluster: Cluster): string {
  return table([
    ['POD', 'IP', 'LABELS', 'PORTS'],
    ...cluster.pods.map((p) => [
      `${p.namespace}/${p.name}`,
      p.ip,
      Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
      p.ports.map((c) => `${c.port}/${c.protocol}`).join(',') || '-',
    ]),
  ]);
}

/** Creates or replaces policies, printing one line per policy as kubectl apply does. */
function applyPolicies(fw: PodFirewall, policies: readonly NetworkPolicy[]): string[] {
  const existing = new Set(fw.policies.map(policyKey));
  const result = fw.apply(policies);
  return [
    ...policies.map((p) => `networkpolicy ${policyKey(p)} ${existing.has(policyKey(p)) ? 'configured' : 'created'}`),
    `(${result.entries} policy map entries, switched over in ${result.milliseconds.toFixed(1)} ms)`,
  ];
}

// ---------------------------------------------------------------------------
// Commands

async function upCommand(file: string, name: string): Promise<void> {
  const cluster = parsed(file, parseCluster);
  requireRoot();
  const replacing = isUp(name);
  const started = performance.now();
  const fw = await PodFirewall.up(cluster, { name });
  fw.close();
  const namespaces = cluster.namespaces.map((n) => n.name).join(', ');
  out(`${name}: ${replacing ? 'replaced the running cluster; ' : ''}${cluster.pods.length} pods in ${cluster.namespaces.length} namespaces (${namespaces}) up in ${seconds(performance.now() - started)}`);
  out(indent(describeCluster(cluster)));
  out('No NetworkPolicy yet: everything is allowed. Next: pod-firewall apply POLICY.yaml');
}

function isUp(name: string): boolean {
  try {
    PodFirewall.open({ name }).close();
    return true;
  } catch {
    return false;
  }
}

function applyCommand(file: string, name: string): void {
  // Parsed before anything is opened: a bad file changes nothing, whether or not a cluster is up.
  const policies = parsed(file, parsePolicies);
  if (policies.length === 0) throw new UserError(`${file}: no NetworkPolicy in it`);
  using fw = openFirewall(name);
  for (const line of applyPolicies(fw, policies)) out(line);
}

function deleteCommand(names: readonly string[], name: string): void {
  // As kubectl: a bare name is in namespace 'default'.
  const keys = [...new Set(names.map((n) => (n.includes('/') ? n : `default/${n}`)))];
  using fw = openFirewall(name);
  const existing = new Set(fw.policies.map(policyKey));
  const found = keys.filter((k) => existing.has(k));
  const missing = keys.filter((k) => !existing.has(k));
  if (found.length > 0) fw.delete(found);
  for (const k of found) out(`networkpolicy ${k} deleted`);
  if (missing.length > 0) throw new UserError(`no networkpolicy ${missing.join(', ')} (have: ${[...existing].join(', ') || 'none'})`);
}

function statusCommand(name: string, json: boolean): void {
  using fw = openFirewall(name);
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

async function observeCommand(name: string, opts: { verdict?: 'allowed' | 'denied'; json?: boolean }): Promise<void> {
  using fw = openFirewall(name);
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

async function probeCommand(name: string, opts: { json?: boolean; timeout: number; compact?: boolean }): Promise<void> {
  using fw = openFirewall(name);
  const pods = fw.cluster.pods.map((p) => `${p.namespace}/${p.name}`);
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

function downCommand(name: string): void {
  requireRoot();
  const was = isUp(name);
  PodFirewall.down({ name });
  out(was ? `${name}: down (namespaces, agents, programs, maps and pins removed)` : `${name}: nothing was up; cleaned up anyway`);
}

// ---------------------------------------------------------------------------
// The demo (`npm start`)

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
  return existsSync(join('/sys/fs/bpf', name)) ? [...mine, join('/sys/fs/bpf', name)] : mine;
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
  const pods = cluster.pods.map((p) => `${p.namespace}/${p.name}`);

  out('pod-firewall: Kubernetes NetworkPolicy enforced by eBPF, on network namespaces of this machine');
  heading(1, 'Create a cluster (clusters/demo.yaml)');
  let started = performance.now();
  let fw: PodFirewall | undefined;
  try {
    fw = await PodFirewall.up(cluster, { name: DEMO_NAME });
    const ports = probedPorts(fw);
    const legend = `each cell: ${ports.map((p) => `${p.protocol}/${p.port}`).join(' ')} from the row's pod to the column's ('.' connected, 'X' blocked)`;
    out(`  ${pods.length} pods in namespaces ${cluster.namespaces.map((n) => n.name).join(', ')}, each serving ${ports.map((p) => `${p.port}/${p.protocol}`).join(', ')}`);
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

    heading(4, 'Probe again, while watching the datapath\'s flow events');
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

async function demoCommand(): Promise<void> {
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
      if (abort.signal.aborted) throw new Interrupted('interrupted');
    });
    out(`\nDone in ${seconds(performance.now() - started)}. Try it yourself: pod-firewall up ${join(packageDir(), 'clusters', 'demo.yaml')}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// ---------------------------------------------------------------------------
// Program

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of milliseconds');
  return n;
}

function instanceName(value: string): string {
  // It prefixes namespaces, interfaces, pins and /run paths: keep it short and plain.
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(value)) throw new InvalidArgumentError('must be 1-16 lowercase letters, digits or -');
  return value;
}

function buildProgram(): Command {
  const program = new Command('pod-firewall')
    .description('Kubernetes NetworkPolicy enforced by eBPF on network namespaces of this machine')
    .version(VERSION)
    .addOption(new Option('--name <name>', 'instance name: prefix of its namespaces, pins and files').default('pf').argParser(instanceName))
    .exitOverride()
    .showHelpAfterError('(pod-firewall --help for usage)');
  const name = () => program.opts<{ name: string }>().name;

  program
    .command('up')
    .description('create the cluster (a network namespace per pod) and attach the datapath; replaces one of the same name')
    .argument('<cluster.yaml>', 'namespaces and pods (see clusters/demo.yaml)')
    .action((file: string) => upCommand(file, name()));
  program
    .command('apply')
    .description('create or replace NetworkPolicies from multi-document YAML (- for stdin); nothing changes if any is invalid')
    .argument('<file>', 'NetworkPolicy manifests')
    .action((file: string) => applyCommand(file, name()));
  program
    .command('delete')
    .description('delete NetworkPolicies')
    .argument('<name...>', "'namespace/name', or 'name' for namespace default")
    .action((names: string[]) => deleteCommand(names, name()));
  program
    .command('status')
    .description('endpoints, identities, policies and counters')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => statusCommand(name(), opts.json === true));
  program
    .command('observe')
    .description('print flow events (denied flows, and flows a policy allowed) until Ctrl-C; events are read once, by one reader')
    .addOption(new Option('--verdict <verdict>', 'only these').choices(['allowed', 'denied']))
    .option('--json', 'one JSON object per line')
    .action((opts: { verdict?: 'allowed' | 'denied'; json?: boolean }) => observeCommand(name(), opts));
  program
    .command('probe')
    .description('connect from every pod to every other on each served port and print the reachability matrix')
    .option('--json', 'machine-readable output')
    .option('--compact', 'one table, all ports in each cell')
    .option('--timeout <ms>', 'how long a connection may take', positiveInt, 700)
    .action((opts: { json?: boolean; compact?: boolean; timeout: number }) => probeCommand(name(), opts));
  program
    .command('down')
    .description('remove the cluster: namespaces, agents, programs, maps, pins')
    .action(() => downCommand(name()));
  program
    .command('demo')
    .description(`the npm start story: a cluster, policies, probes and flow events, torn down at the end (instance ${DEMO_NAME})`)
    .action(() => demoCommand());
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof UserError) {
      process.stderr.write(`pod-firewall: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof Interrupted) return 130;
    throw e;
  }
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pod-firewall: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);
