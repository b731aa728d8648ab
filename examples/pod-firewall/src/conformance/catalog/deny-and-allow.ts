/**
 * Conformance scenarios on default denies (ingress, egress, both; by
 * namespace and pod) and allow-all rules, alone and on top of a deny.
 */
import { denyEgress, denyIngress, docs, onXA, policy, type Scenario } from '../scenario.js';

export const defaultDeny: Scenario[] = [
  {
    name: 'default-deny-ingress',
    tags: ['ingress', 'default-deny', 'upstream'],
    steps: [{ apply: denyIngress('x') }],
  },
  {
    name: 'default-deny-egress',
    tags: ['egress', 'default-deny', 'upstream'],
    steps: [{ apply: denyEgress('x') }],
  },
  {
    name: 'default-deny-ingress-and-egress',
    tags: ['ingress', 'egress', 'default-deny', 'upstream'],
    steps: [{ apply: policy('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]') }],
  },
  {
    name: 'default-deny-ingress-every-namespace',
    tags: ['ingress', 'default-deny', 'multi-document'],
    steps: [{ apply: docs(denyIngress('x'), denyIngress('y'), denyIngress('z')) }],
  },
  {
    name: 'default-deny-ingress-in-other-namespace-only',
    tags: ['ingress', 'default-deny', 'namespace-scope'],
    // A policy only selects pods in its own namespace, however wide its podSelector.
    steps: [{ apply: denyIngress('y') }],
  },
  {
    name: 'selector-matching-no-pod-has-no-effect',
    tags: ['ingress', 'default-deny', 'pod-selector', 'cyclonus'],
    steps: [{ apply: policy('z', 'deny-nobody', 'podSelector:\n  matchLabels: { pod: nonexistent }\npolicyTypes: [Ingress, Egress]') }],
  },
];

export const allowAll: Scenario[] = [
  {
    name: 'allow-all-ingress',
    tags: ['ingress', 'allow-all', 'upstream'],
    steps: [{ apply: policy('x', 'allow-all-ingress', 'podSelector: {}\ningress: [{}]') }],
  },
  {
    name: 'allow-all-egress',
    tags: ['egress', 'allow-all'],
    steps: [{ apply: policy('x', 'allow-all-egress', 'podSelector: {}\npolicyTypes: [Egress]\negress: [{}]') }],
  },
  {
    name: 'deny-all-ingress-plus-allow-all-ingress',
    tags: ['ingress', 'default-deny', 'allow-all', 'stacked', 'conflict', 'cyclonus'],
    steps: [{ apply: docs(denyIngress('x'), policy('x', 'allow-all-ingress', 'podSelector: {}\ningress: [{}]')) }],
  },
  {
    name: 'allow-all-from-empty-namespace-selector',
    tags: ['ingress', 'namespace-selector', 'upstream'],
    steps: [{ apply: onXA('allow-any-namespace', 'ingress:\n  - from: [{ namespaceSelector: {} }]') }],
  },
  {
    name: 'allow-from-empty-pod-selector-same-namespace',
    tags: ['ingress', 'pod-selector', 'upstream'],
    steps: [{ apply: onXA('allow-own-namespace', 'ingress:\n  - from: [{ podSelector: {} }]') }],
  },
  {
    name: 'ingress-rule-with-empty-from-list',
    tags: ['ingress', 'allow-all', 'ports', 'cyclonus'],
    // `from: []` is "empty", which the API documents as matching all sources.
    steps: [{ apply: onXA('empty-from', 'ingress:\n  - from: []\n    ports: [{ port: 80 }]') }],
  },
];
