/**
 * The errors of the example outside its pure policy layer (policy/errors.ts
 * has those): FirewallError for the controller and the machine under it
 * (instances, namespaces, agents), CliError for what the `pod-firewall`
 * command refuses. Codes are stable; docs/errors.md lists them.
 */
import { TsbpfError } from '@tsbpf/object';

export type FirewallErrorCode =
  | 'NOT_UP' // no instance of that name is up (nothing pinned or saved)
  | 'STATE_INVALID' // the saved state does not parse, or disagrees with itself
  | 'BUSY' // another command held the instance's lock for longer than we wait
  | 'NOT_FOUND' // a pod or namespace named is not in the cluster
  | 'LABEL_REFUSED' // a label change kubectl would refuse: an existing key without overwrite, kubernetes.io/metadata.name
  | 'COMMAND_FAILED' // ip or sysctl failed while making or inspecting the namespaces
  | 'PACKAGE_NOT_FOUND' // the example's package directory cannot be found from this file
  | 'AGENT_NOT_BUILT' // dist/agent.js is missing (npm run build)
  | 'AGENT_FAILED' // a pod's agent did not start, or its control socket did not answer (probe: per pod)
  | 'AGENT_USAGE' // agent.js was started without one of its required arguments
  | 'DATAPATH_INVALID' // upgrade: the object is not a BPF object, or lacks the from_pod and to_pod programs
  | 'DATAPATH_INCOMPATIBLE' // upgrade: a map of the new object differs from the pinned one (type, sizes, max entries, flags); nothing changed
  | 'UPGRADE_FAILED' // upgrade: moving a pod's link to the new program failed; the links moved before it were moved back
  | 'CONTROL_PLANE' // the Kubernetes control plane (kube-apiserver, etcd, kubectl) could not be built, started or reached
  | 'SNAPSHOT_INVALID' // node agent: a snapshot it cannot enforce (another node's, a pod without identity); nothing changed
  | 'CLOSED'; // a node datapath or agent used after close

export class FirewallError extends TsbpfError<FirewallErrorCode> {
  override readonly name = 'FirewallError';
}

export type CliErrorCode =
  | 'NOT_ROOT' // a command that makes namespaces or loads programs, run without root
  | 'FILE_UNREADABLE' // a file named on the command line cannot be read
  | 'NO_POLICY' // `apply` of a file without any NetworkPolicy
  | 'POLICY_NOT_FOUND' // `delete` of a policy that is not applied
  | 'ARGUMENT_INVALID' // a malformed argument: a label change, a pod name
  | 'INTERRUPTED'; // Ctrl-C (or SIGTERM) during a command that cleans up between steps

export class CliError extends TsbpfError<CliErrorCode> {
  override readonly name = 'CliError';
}
