#!/usr/bin/env node
/**
 * pod-firewall: the command line of the example. This file is the program
 * (commands, arguments, options, exit codes); the policy and inspection
 * commands are in cli/commands.ts, the cluster's (up, pod, label) in
 * cli/lifecycle-commands.ts, upgrade in cli/upgrade-command.ts, the
 * Kubernetes node agent in cli/agent-command.ts, the demo in cli/demo.ts.
 *
 * Exit codes: 0 ok; 1 a failure tsbpf or the example reports (any
 * TsbpfError: a bad file, nothing up, not root, a kernel refusal), printed
 * as `pod-firewall: <message>`; 130 interrupted; 2 a bug (a stack trace).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TsbpfError } from '@tsbpf/object';
import { applyCommand, deleteCommand, downCommand, observeCommand, probeCommand, statusCommand } from './cli/commands.js';
import { labelCommand, labelList, podAddCommand, podDeleteCommand, portArg, upCommand, type PortArg } from './cli/lifecycle-commands.js';
import { DEMO_NAME, demoCommand } from './cli/demo.js';
import { upgradeCommand } from './cli/upgrade-command.js';
import { agentCommand } from './cli/agent-command.js';
import { demoKubernetesCommand } from './cli/demo-kubernetes.js';

const VERSION = '0.1.0';

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
    .description(
      'create the cluster (a network namespace per pod) and attach the datapath; on a running cluster, add, remove and relabel pods as the file says, keeping every policy',
    )
    .argument('<cluster.yaml>', 'namespaces and pods (see clusters/demo.yaml)')
    .option('--fast-path', "deliver between this node's pods from the sender's hook, skipping the node's routing (default when first up)")
    .option('--no-fast-path', "every packet between pods takes the node's routing (and its netfilter)")
    .action((file: string, opts: { fastPath?: boolean }) => upCommand(file, name(), opts.fastPath));
  const pod = program.command('pod').description('add or delete one pod of a running cluster');
  pod
    .command('add')
    .description('add a pod (and its namespace when new): cut off until the policies in force cover it')
    .argument('<namespace/name>', 'the pod')
    .option('-l, --labels <k=v,...>', 'pod labels', labelList)
    .option('-p, --port <PORT[/PROTOCOL][:NAME]>', 'a container port it serves, e.g. 80/TCP:http (repeatable)', portArg)
    .option('--ip <address>', 'its address (default: the next free one in the podCidr)')
    .option('--namespace-labels <k=v,...>', 'labels of its namespace, when the namespace is new', labelList)
    .action((key: string, opts: { labels?: Record<string, string>; port?: PortArg[]; ip?: string; namespaceLabels?: Record<string, string> }) =>
      podAddCommand(key, name(), opts),
    );
  pod
    .command('delete')
    .description('delete a pod: cut off first, then gone from the maps, then its namespace and agent')
    .argument('<namespace/name>', 'the pod')
    .action((key: string) => podDeleteCommand(key, name()));
  program
    .command('label')
    .description('change labels of a pod or namespace as kubectl label does (identities and policies follow; maps only)')
    .argument('<kind>', 'pod or namespace')
    .argument('<name>', "'namespace/name' for a pod, the name for a namespace")
    .argument('<changes...>', 'key=value to set, key- to remove')
    .option('--overwrite', 'allow changing the value of a key that is set')
    .action((kind: string, target: string, changes: string[], opts: { overwrite?: boolean }) =>
      labelCommand(kind, target, changes, name(), opts.overwrite === true),
    );
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
    .description(
      'print flow events (denied flows, and flows a policy allowed) until Ctrl-C; every observer sees every event (one of them reads the ring buffer and relays)',
    )
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
    .command('upgrade')
    .description('replace the datapath programs on every pod with no gap (same pinned maps; policies, conntrack, counters kept)')
    .option('--object <file.bpf.o>', 'a BPF object with from_pod and to_pod (default: bpf/firewall.bpf.c compiled now)')
    .action((opts: { object?: string }) => upgradeCommand(name(), opts));
  program
    .command('agent')
    .description(
      "run this node's agent of a Kubernetes cluster: NetworkPolicies, pods and namespaces from the API server, identities shared through its CRD (see deploy/)",
    )
    .requiredOption('--node <name>', "this node's name (spec.nodeName of its pods)")
    .option('--kubeconfig <file>', 'how to reach the API server (default: the in-cluster ServiceAccount)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics')
    .option('--instance-netns', "the pods' veths are in this instance's node namespace (the one-machine test harness), not this process's")
    .action((opts: { node: string; kubeconfig?: string; metrics?: string; instanceNetns?: boolean }) => agentCommand(name(), opts));
  program
    .command('down')
    .description('remove the cluster: namespaces, agents, programs, maps, pins')
    .action(() => downCommand(name()));
  program
    .command('demo')
    .description(`the npm start story: a cluster, policies, probes and flow events, torn down at the end (instance ${DEMO_NAME})`)
    .option(
      '--kubernetes',
      'the same story across two nodes of a Kubernetes cluster on this machine: a real API server (built once: minutes the first time), one agent per node',
    )
    .action((opts: { kubernetes?: boolean }) => (opts.kubernetes ? demoKubernetesCommand() : demoCommand()));
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting. Anything not a TsbpfError is a bug, and is thrown. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (!TsbpfError.is(e)) throw e;
    // Ctrl-C: the handler said so already, and cleaned up.
    if (e.code === 'INTERRUPTED') return 130;
    process.stderr.write(`pod-firewall: ${e.message}\n`);
    return 1;
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
