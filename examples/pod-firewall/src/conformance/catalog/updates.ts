/**
 * Conformance scenarios of several steps: policies replaced and deleted, pod
 * and namespace labels changed under applied policies.
 */
import { denyEgress, denyIngress, docs, onXA, policy, type Scenario } from '../scenario.js';

export const multiStep: Scenario[] = [
  {
    name: 'update-policy-in-place',
    tags: ['ingress', 'update', 'multi-step', 'namespace-selector', 'upstream'],
    steps: [
      { apply: onXA('allow-from-ns', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]') },
      { apply: onXA('allow-from-ns', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]') },
    ],
  },
  {
    name: 'update-policy-ports',
    tags: ['ingress', 'update', 'multi-step', 'ports', 'upstream'],
    steps: [
      { apply: onXA('allow-port', 'ingress:\n  - ports: [{ port: 80 }]') },
      { apply: onXA('allow-port', 'ingress:\n  - ports: [{ port: 81, protocol: UDP }]') },
    ],
  },
  {
    name: 'create-then-delete',
    tags: ['ingress', 'egress', 'delete', 'multi-step', 'default-deny', 'upstream'],
    steps: [{ apply: policy('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]') }, { delete: ['x/deny-all'] }],
  },
  {
    name: 'delete-one-of-stacked-policies',
    tags: ['ingress', 'delete', 'stacked', 'multi-step', 'conflict'],
    steps: [
      { apply: docs(denyIngress('x'), onXA('allow-from-y', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]')) },
      { delete: ['x/allow-from-y'] },
      { delete: ['x/deny-ingress'] },
    ],
  },
  {
    name: 'replace-policy-under-new-name',
    tags: ['egress', 'delete', 'update', 'multi-step'],
    steps: [
      { apply: denyEgress('y') },
      {
        apply: policy(
          'y',
          'allow-egress-to-x',
          `
          podSelector: {}
          policyTypes: [Egress]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { ns: x } } }]`,
        ),
        delete: ['y/deny-egress'],
      },
    ],
  },
  {
    name: 'namespace-label-change',
    tags: ['ingress', 'namespace-selector', 'label-change', 'multi-step', 'upstream'],
    steps: [
      { apply: onXA('allow-from-blue', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: blue } } }]') },
      { namespaceLabels: { y: { ns: 'y', team: 'blue' } } },
      { namespaceLabels: { y: { ns: 'y' } } },
    ],
  },
  {
    name: 'source-pod-label-change',
    tags: ['ingress', 'pod-selector', 'label-change', 'multi-step', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-clients',
          `
          ingress:
            - from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: client } } }]`,
        ),
      },
      { podLabels: { 'z/b': { pod: 'b', role: 'client' } } },
      { podLabels: { 'z/b': { pod: 'b' } } },
    ],
  },
  {
    name: 'target-pod-label-change',
    tags: ['ingress', 'pod-selector', 'label-change', 'multi-step', 'upstream'],
    // The policy follows labels: x/a stops being isolated, then x/b starts.
    steps: [
      { apply: onXA('deny-a', 'policyTypes: [Ingress]') },
      { podLabels: { 'x/a': { pod: 'd' } } },
      { podLabels: { 'x/b': { pod: 'a' } } },
      { podLabels: { 'x/a': { pod: 'a' }, 'x/b': { pod: 'b' } } },
    ],
  },
  {
    name: 'egress-namespace-label-change',
    tags: ['egress', 'namespace-selector', 'label-change', 'multi-step'],
    steps: [
      {
        apply: onXA(
          'egress-to-blue',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { team: blue } } }]`,
        ),
      },
      { namespaceLabels: { z: { ns: 'z', team: 'blue' } } },
      { namespaceLabels: { z: { ns: 'z' } } },
    ],
  },
];
