/**
 * Conformance scenarios on peers chosen by namespaceSelector and
 * podSelector: each alone, ANDed in one peer, ORed across peers,
 * matchExpressions, the kubernetes.io/metadata.name label.
 */
import { onXA, policy, type Scenario } from '../scenario.js';

export const selectors: Scenario[] = [
  {
    name: 'ingress-from-namespace-selector',
    tags: ['ingress', 'namespace-selector', 'upstream'],
    steps: [{ apply: onXA('allow-from-y', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]') }],
  },
  {
    name: 'ingress-from-pod-selector',
    tags: ['ingress', 'pod-selector', 'upstream'],
    steps: [{ apply: onXA('allow-from-b', 'ingress:\n  - from: [{ podSelector: { matchLabels: { pod: b } } }]') }],
  },
  {
    name: 'ingress-from-namespace-and-pod-selector',
    tags: ['ingress', 'namespace-selector', 'pod-selector', 'and', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-y-b',
          `
          ingress:
            - from:
                - namespaceSelector: { matchLabels: { ns: y } }
                  podSelector: { matchLabels: { pod: b } }`,
        ),
      },
    ],
  },
  {
    name: 'ingress-from-namespace-or-pod-selector',
    tags: ['ingress', 'namespace-selector', 'pod-selector', 'or', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-y-or-b',
          `
          ingress:
            - from:
                - namespaceSelector: { matchLabels: { ns: y } }
                - podSelector: { matchLabels: { pod: b } }`,
        ),
      },
    ],
  },
  {
    name: 'ingress-from-pod-selector-in-any-namespace',
    tags: ['ingress', 'namespace-selector', 'pod-selector', 'and', 'upstream'],
    steps: [
      {
        apply: onXA('allow-from-any-c', 'ingress:\n  - from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: c } } }]'),
      },
    ],
  },
  {
    name: 'ingress-namespace-expression-in',
    tags: ['ingress', 'namespace-selector', 'match-expressions', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-y-z',
          `
          ingress:
            - from:
                - namespaceSelector:
                    matchExpressions: [{ key: ns, operator: In, values: [y, z] }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-namespace-expression-not-in',
    tags: ['ingress', 'namespace-selector', 'match-expressions', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-not-y',
          `
          ingress:
            - from:
                - namespaceSelector:
                    matchExpressions: [{ key: ns, operator: NotIn, values: [y] }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-pod-expression-in-any-namespace',
    tags: ['ingress', 'pod-selector', 'match-expressions', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-from-b-c',
          `
          ingress:
            - from:
                - namespaceSelector: {}
                  podSelector:
                    matchExpressions: [{ key: pod, operator: In, values: [b, c] }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-namespace-expression-exists',
    tags: ['ingress', 'namespace-selector', 'match-expressions'],
    steps: [
      {
        apply: onXA('allow-from-labelled-namespaces', 'ingress:\n  - from: [{ namespaceSelector: { matchExpressions: [{ key: ns, operator: Exists }] } }]'),
      },
    ],
  },
  {
    name: 'target-pods-by-expression-not-in',
    tags: ['ingress', 'default-deny', 'match-expressions', 'pod-selector'],
    // Isolates x/b and x/c; x/a stays open.
    steps: [
      {
        apply: policy('x', 'deny-all-but-a', 'podSelector:\n  matchExpressions: [{ key: pod, operator: NotIn, values: [a] }]\npolicyTypes: [Ingress]'),
      },
    ],
  },
  {
    name: 'ingress-pod-expression-does-not-exist-with-label-change',
    tags: ['ingress', 'pod-selector', 'match-expressions', 'label-change', 'multi-step'],
    steps: [
      {
        apply: onXA(
          'allow-from-non-clients',
          `
          ingress:
            - from:
                - namespaceSelector: {}
                  podSelector:
                    matchExpressions: [{ key: role, operator: DoesNotExist, values: [] }]`,
        ),
      },
      // x/b gains the label the expression excludes.
      { podLabels: { 'x/b': { pod: 'b', role: 'client' } } },
      { podLabels: { 'x/b': { pod: 'b' } } },
    ],
  },
  {
    name: 'ingress-metadata-name-selector',
    tags: ['ingress', 'namespace-selector', 'metadata-name', 'upstream'],
    steps: [
      {
        apply: onXA('allow-from-z', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: z } } }]'),
      },
    ],
  },
  {
    name: 'ingress-metadata-name-not-in-own-namespace',
    tags: ['ingress', 'namespace-selector', 'metadata-name', 'match-expressions'],
    steps: [
      {
        apply: onXA(
          'allow-from-other-namespaces',
          `
          ingress:
            - from:
                - namespaceSelector:
                    matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }]`,
        ),
      },
    ],
  },
];
