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
const KNOWN: Record<string, { known: `issue 15: ${string}`; knownIn?: CellKind[] }> = {
  'range-81-to-65535-from-anywhere': { known: 'issue 15: endPort ranges cost one policy entry per port (the map fills)' },
  'range-adjacent-in-two-policies': { known: 'issue 15: endPort ranges cost one policy entry per port (the map fills)' },
  'named-port-through-egress-ip-block': { known: 'issue 15: named ports resolve per identity, not per destination pod', knownIn: ['plain'] },
  'named-port-egress-to-selected-pods': { known: 'issue 15: named ports resolve per identity, not per destination pod', knownIn: ['plain'] },
  'fragments-ingress-port-allowed-and-denied': { known: 'issue 15: non-first fragments are judged without ports', knownIn: ['fragment'] },
  'fragments-ingress-and-egress-both-enforced': { known: 'issue 15: non-first fragments are judged without ports', knownIn: ['fragment'] },
  'fragments-egress-port-allowed-and-denied': { known: 'issue 15: non-first fragments are judged without ports', knownIn: ['fragment'] },
  'fragments-port-range-edges': { known: 'issue 15: non-first fragments are judged without ports', knownIn: ['fragment'] },
  'fragments-after-the-allow-is-revoked': { known: 'issue 15: non-first fragments are judged without ports', knownIn: ['fragment'] },
  'forged-sources-without-policies': { known: 'issue 15: no anti-spoofing on pod egress', knownIn: ['forged'] },
  'forged-source-of-the-one-allowed-peer': { known: 'issue 15: no anti-spoofing on pod egress', knownIn: ['forged'] },
  'forged-source-allowed-by-ip-block': { known: 'issue 15: no anti-spoofing on pod egress', knownIn: ['forged'] },
  'forged-source-with-the-sender-egress-enforced': { known: 'issue 15: no anti-spoofing on pod egress', knownIn: ['forged'] },
};

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
