/** The example as a library: the controller, the policy model, parser, oracle, compiler and planner, and their errors. */
export { PodFirewall, type ApplyResult, type FirewallOptions, type ProbePort, type UpOptions, type UpgradeResult } from './firewall.js';
export type { DatapathRecord } from './controller/upgrade.js';
export * from './policy/model.js';
export { isAllowed, reachability, selectorMatches } from './policy/oracle.js';
export { allocate, compile, emptyAllocations, policyPrefixes, type Allocations, type CompiledState } from './policy/compile.js';
export { planUpdate, initialLive, type LiveState, type UpdatePlan } from './policy/plan.js';
export { parseCluster } from './policy/cluster-file.js';
export { parsePolicies, serializePolicies } from './policy/manifests.js';
export { CompileError, PolicyError, type CompileErrorCode, type PolicyErrorCode } from './policy/errors.js';
export { CliError, FirewallError, type CliErrorCode, type FirewallErrorCode } from './errors.js';
export { KubernetesError, type KubernetesErrorCode } from './kubernetes/errors.js';
export { runAgent, type AgentOptions, type AgentOutcome, type NodeAgent } from './kubernetes/agent.js';
export { NodeDatapath, type NodeChange } from './kubernetes/node-datapath.js';
export type { NodeSnapshot, SnapshotSource } from './kubernetes/snapshot.js';
