/**
 * The conformance catalog: NetworkPolicy situations modelled on the upstream
 * Kubernetes e2e netpol suite (test/e2e/network/netpol) and cyclonus, by
 * topic under catalog/. The runner applies each step, then probes every pod
 * pair on TCP/UDP 80/81 and compares with the policy oracle; expectations
 * deliberately live there, not here, so the catalog only says what to do.
 */
import { allowAll, defaultDeny } from './catalog/deny-and-allow.js';
import { egressRules } from './catalog/egress.js';
import { ipBlocks } from './catalog/ip-blocks.js';
import { portRules } from './catalog/ports.js';
import { selectors } from './catalog/selectors.js';
import { policyTypes, stacked } from './catalog/stacking.js';
import { multiStep } from './catalog/updates.js';
import type { Scenario } from './scenario.js';

export { conformanceCluster, type Scenario, type ScenarioStep } from './scenario.js';

export const scenarios: Scenario[] = [
  ...defaultDeny,
  ...allowAll,
  ...selectors,
  ...portRules,
  ...egressRules,
  ...ipBlocks,
  ...stacked,
  ...policyTypes,
  ...multiStep,
];
