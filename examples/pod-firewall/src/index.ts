export { PodFirewall, type ApplyResult, type FirewallOptions, type ProbePort } from './firewall.js';
export * from './policy/model.js';
export { isAllowed, reachability, selectorMatches } from './policy/oracle.js';
export { allocate, compile, emptyAllocations, policyPrefixes, type Allocations, type CompiledState } from './policy/compile.js';
export { planUpdate, initialLive, type LiveState, type UpdatePlan } from './policy/plan.js';
