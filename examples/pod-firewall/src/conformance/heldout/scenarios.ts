/**
 * The held-out catalog: scenarios written from the NetworkPolicy
 * specification (as the oracle implements it) and the threat model, blind
 * to the map compiler and the datapath, on the classes where a firewall is
 * most easily wrong (catalog/, by topic). Marks of expected failure live
 * here, in one place, so the integrator sees at a glance which scenarios
 * wait for which fix.
 */
import { forgery } from './catalog/forgery.js';
import { fragments } from './catalog/fragments.js';
import { ipBlockEdges } from './catalog/ip-blocks.js';
import { ipOptions } from './catalog/ip-options.js';
import { lifecycle } from './catalog/lifecycle.js';
import { namedPorts } from './catalog/named-ports.js';
import { portRanges } from './catalog/port-ranges.js';
import { sctp } from './catalog/sctp.js';
import type { CellKind, HeldoutScenario } from './vocabulary.js';

export { heldoutCluster } from './vocabulary.js';
export type { HeldoutScenario } from './vocabulary.js';

/** Scenario name -> why it fails today and which kinds of cell may differ (see HeldoutScenario.known). */
// Empty since the issue-15 datapath landed: the 13 scenarios marked before (port ranges, named ports through
// egress, fragments, forged sources) all pass. A scenario that fails for a known reason goes here with its issue.
const KNOWN: Record<string, { known: `issue ${number}: ${string}`; knownIn?: CellKind[] }> = {};

export const heldoutScenarios: HeldoutScenario[] = [
  ...portRanges,
  ...namedPorts,
  ...fragments,
  ...forgery,
  ...ipBlockEdges,
  ...ipOptions,
  ...lifecycle,
  ...sctp,
].map((s) => (KNOWN[s.name] ? { ...s, ...KNOWN[s.name] } : s));

/** The names of marked scenarios that do not exist (a stale mark is a mistake). */
export const staleMarks = (): string[] => Object.keys(KNOWN).filter((n) => !heldoutScenarios.some((s) => s.name === n));
