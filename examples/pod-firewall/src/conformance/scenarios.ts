/**
 * The conformance catalog: NetworkPolicy situations modelled on the upstream
 * Kubernetes e2e netpol suite (test/e2e/network/netpol) and cyclonus. The
 * runner applies each step, then probes every pod pair on TCP/UDP 80/81 and
 * compares with the policy oracle; expectations deliberately live there, not
 * here, so this file only says what to do.
 *
 * The cluster is the upstream one: namespaces x, y, z, each with pods a, b, c
 * serving 80 and 81 on TCP and UDP.
 */

export interface ScenarioStep {
  /** Multi-document NetworkPolicy YAML to apply (create or replace by namespace/name). */
  apply?: string;
  /** Policies to delete, as 'namespace/name'. */
  delete?: string[];
  /** Replace a pod's labels: 'ns/pod' -> labels. */
  podLabels?: Record<string, Record<string, string>>;
  /** Replace a namespace's labels (kubernetes.io/metadata.name is kept): 'ns' -> labels. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

export interface Scenario {
  name: string;
  tags: string[];
  steps: ScenarioStep[];
}

const ports = `
        ports:
          - { port: 80, protocol: TCP, name: serve-80-tcp }
          - { port: 80, protocol: UDP, name: serve-80-udp }
          - { port: 81, protocol: TCP, name: serve-81-tcp }
          - { port: 81, protocol: UDP, name: serve-81-udp }`;

const pods = ['a', 'b', 'c'].map((p) => `\n      - name: ${p}\n        labels: { pod: ${p} }${ports}`).join('');

/** IPs are allocated: x/a=10.244.1.11, x/b=10.244.1.12, ..., y/b=10.244.2.12, ..., z/c=10.244.3.13. */
export const conformanceCluster: string = `podCidr: 10.244.0.0/16
namespaces:
${['x', 'y', 'z'].map((ns) => `  - name: ${ns}\n    labels: { ns: ${ns} }\n    pods:${pods}`).join('\n')}
`;

/** Strips the common indentation of a template literal so specs can be written in place. */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** One NetworkPolicy document; `spec` is the body of `spec:`, written at any indentation. */
function policy(namespace: string, name: string, spec: string): string {
  const body = dedent(spec)
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n${body}\n`;
}

const docs = (...policies: string[]) => policies.join('---\n');

const denyIngress = (ns: string) => policy(ns, 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]');
const denyEgress = (ns: string) => policy(ns, 'deny-egress', 'podSelector: {}\npolicyTypes: [Egress]');

/** Policies on x/a only, the usual upstream "server" pod. */
const onXA = (name: string, spec: string) => policy('x', name, `podSelector:\n  matchLabels: { pod: a }\n${dedent(spec)}`);

const defaultDeny: Scenario[] = [
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

const allowAll: Scenario[] = [
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

const selectors: Scenario[] = [
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
        apply: onXA(
          'allow-from-labelled-namespaces',
          'ingress:\n  - from: [{ namespaceSelector: { matchExpressions: [{ key: ns, operator: Exists }] } }]',
        ),
      },
    ],
  },
  {
    name: 'target-pods-by-expression-not-in',
    tags: ['ingress', 'default-deny', 'match-expressions', 'pod-selector'],
    // Isolates x/b and x/c; x/a stays open.
    steps: [
      {
        apply: policy(
          'x',
          'deny-all-but-a',
          'podSelector:\n  matchExpressions: [{ key: pod, operator: NotIn, values: [a] }]\npolicyTypes: [Ingress]',
        ),
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

const portRules: Scenario[] = [
  {
    name: 'ingress-port-80-tcp',
    tags: ['ingress', 'ports', 'upstream'],
    steps: [{ apply: onXA('allow-80-tcp', 'ingress:\n  - ports: [{ port: 80, protocol: TCP }]') }],
  },
  {
    name: 'ingress-port-81-default-protocol',
    tags: ['ingress', 'ports', 'protocol'],
    steps: [{ apply: onXA('allow-81', 'ingress:\n  - ports: [{ port: 81 }]') }],
  },
  {
    name: 'ingress-named-port',
    tags: ['ingress', 'ports', 'named-port', 'upstream'],
    steps: [{ apply: onXA('allow-serve-81-tcp', 'ingress:\n  - ports: [{ port: serve-81-tcp }]') }],
  },
  {
    name: 'ingress-named-port-udp',
    tags: ['ingress', 'ports', 'named-port', 'protocol', 'udp', 'upstream'],
    steps: [{ apply: onXA('allow-serve-80-udp', 'ingress:\n  - ports: [{ port: serve-80-udp, protocol: UDP }]') }],
  },
  {
    name: 'ingress-named-port-protocol-mismatch',
    tags: ['ingress', 'ports', 'named-port', 'protocol', 'cyclonus'],
    // The name exists only for UDP, the rule asks for TCP: matches nothing, so x/a is fully isolated.
    steps: [{ apply: onXA('allow-udp-name-over-tcp', 'ingress:\n  - ports: [{ port: serve-80-udp, protocol: TCP }]') }],
  },
  {
    name: 'ingress-udp-only-any-port',
    tags: ['ingress', 'ports', 'protocol', 'udp'],
    steps: [{ apply: onXA('allow-udp', 'ingress:\n  - ports: [{ protocol: UDP }]') }],
  },
  {
    name: 'ingress-udp-port-81',
    tags: ['ingress', 'ports', 'protocol', 'udp', 'upstream'],
    steps: [{ apply: onXA('allow-81-udp', 'ingress:\n  - ports: [{ port: 81, protocol: UDP }]') }],
  },
  {
    name: 'ingress-end-port-range-tcp',
    tags: ['ingress', 'ports', 'end-port', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-80-81-from-y',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
              ports: [{ port: 80, endPort: 81, protocol: TCP }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-end-port-range-udp',
    tags: ['ingress', 'ports', 'end-port', 'protocol', 'udp'],
    steps: [{ apply: onXA('allow-80-81-udp', 'ingress:\n  - ports: [{ port: 80, endPort: 81, protocol: UDP }]') }],
  },
  {
    name: 'ingress-end-port-single-port-range',
    tags: ['ingress', 'ports', 'end-port'],
    steps: [{ apply: onXA('allow-81-81', 'ingress:\n  - ports: [{ port: 81, endPort: 81 }]') }],
  },
  {
    name: 'ingress-multiple-ports-one-rule',
    tags: ['ingress', 'ports', 'protocol', 'namespace-selector'],
    steps: [
      {
        apply: onXA(
          'allow-80-tcp-81-udp-from-z',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]
              ports: [{ port: 80, protocol: TCP }, { port: 81, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-two-rules-peers-and-ports',
    tags: ['ingress', 'ports', 'namespace-selector', 'upstream'],
    // Each rule pairs its own peers with its own ports; y may not use 81 via z's rule.
    steps: [
      {
        apply: onXA(
          'allow-y-80-z-81',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
              ports: [{ port: 80 }]
            - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]
              ports: [{ port: 81 }]`,
        ),
      },
    ],
  },
];

const egressRules: Scenario[] = [
  {
    name: 'egress-to-namespace',
    tags: ['egress', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: onXA(
          'egress-to-y',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]`,
        ),
      },
    ],
  },
  {
    name: 'egress-named-port',
    tags: ['egress', 'ports', 'named-port', 'upstream'],
    // Named ports on egress resolve on the destination pod.
    steps: [{ apply: onXA('egress-serve-80-tcp', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: serve-80-tcp }]') }],
  },
  {
    name: 'egress-to-pod-on-port',
    tags: ['egress', 'pod-selector', 'ports'],
    steps: [
      {
        apply: onXA(
          'egress-to-b-81',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ podSelector: { matchLabels: { pod: b } } }]
              ports: [{ port: 81, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'egress-end-port-range',
    tags: ['egress', 'ports', 'end-port'],
    steps: [{ apply: onXA('egress-80-81-tcp', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: 80, endPort: 81 }]') }],
  },
  {
    name: 'egress-namespace-expression-not-in',
    tags: ['egress', 'namespace-selector', 'match-expressions'],
    steps: [
      {
        apply: policy(
          'x',
          'egress-not-to-z',
          `
          podSelector: {}
          policyTypes: [Egress]
          egress:
            - to:
                - namespaceSelector:
                    matchExpressions: [{ key: ns, operator: NotIn, values: [z] }]`,
        ),
      },
    ],
  },
];

const ipBlocks: Scenario[] = [
  {
    name: 'ingress-ip-block-with-except',
    tags: ['ingress', 'ip-block', 'upstream'],
    // All of y except y/b.
    steps: [
      {
        apply: onXA('allow-y-subnet-but-b', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.2.0/24, except: [10.244.2.12/32] } }]'),
      },
    ],
  },
  {
    name: 'ingress-ip-block-single-pod-and-port',
    tags: ['ingress', 'ip-block', 'ports'],
    steps: [{ apply: onXA('allow-z-c-80', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.3.13/32 } }]\n    ports: [{ port: 80 }]') }],
  },
  {
    name: 'ingress-ip-block-host-bits-set',
    tags: ['ingress', 'ip-block', 'cyclonus'],
    // Kubernetes accepts host bits in cidr and ignores them: this is 10.244.2.0/24.
    steps: [{ apply: onXA('allow-y-subnet-sloppy', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.2.77/24 } }]') }],
  },
  {
    name: 'egress-ip-block',
    tags: ['egress', 'ip-block', 'upstream'],
    steps: [{ apply: onXA('egress-to-z-subnet', 'policyTypes: [Egress]\negress:\n  - to: [{ ipBlock: { cidr: 10.244.3.0/24 } }]') }],
  },
  {
    name: 'egress-ip-block-with-except',
    tags: ['egress', 'ip-block', 'upstream'],
    // Everything in the pod network but x itself and z/a.
    steps: [
      {
        apply: onXA(
          'egress-not-to-x',
          'policyTypes: [Egress]\negress:\n  - to: [{ ipBlock: { cidr: 10.244.0.0/16, except: [10.244.1.0/24, 10.244.3.11/32] } }]',
        ),
      },
    ],
  },
];

const stacked: Scenario[] = [
  {
    name: 'stacked-ingress-policies-union',
    tags: ['ingress', 'stacked', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: docs(
          onXA('allow-from-y', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]'),
          onXA('allow-from-z', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]'),
        ),
      },
    ],
  },
  {
    name: 'stacked-port-policies-union',
    tags: ['ingress', 'stacked', 'ports', 'protocol'],
    steps: [
      {
        apply: docs(
          onXA('allow-80-tcp', 'ingress:\n  - ports: [{ port: 80, protocol: TCP }]'),
          onXA(
            'allow-81-udp-from-y',
            `
            ingress:
              - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
                ports: [{ port: 81, protocol: UDP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'stacked-ingress-only-and-egress-only',
    tags: ['ingress', 'egress', 'stacked', 'policy-types'],
    steps: [
      {
        apply: docs(
          onXA('deny-ingress-a', 'policyTypes: [Ingress]'),
          onXA('egress-a-to-z', 'policyTypes: [Egress]\negress:\n  - to: [{ namespaceSelector: { matchLabels: { ns: z } } }]'),
        ),
      },
    ],
  },
  {
    name: 'deny-all-ingress-plus-allow-some',
    tags: ['ingress', 'default-deny', 'stacked', 'conflict', 'cyclonus'],
    steps: [
      {
        apply: docs(
          denyIngress('x'),
          onXA(
            'allow-y-80',
            `
            ingress:
              - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
                ports: [{ port: 80, protocol: TCP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'deny-all-egress-plus-allow-some',
    tags: ['egress', 'default-deny', 'stacked', 'conflict', 'cyclonus'],
    steps: [
      {
        apply: docs(
          denyEgress('x'),
          policy(
            'x',
            'allow-egress-z-udp',
            `
            podSelector: {}
            policyTypes: [Egress]
            egress:
              - to: [{ namespaceSelector: { matchLabels: { ns: z } } }]
                ports: [{ protocol: UDP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'deny-all-plus-allow-within-namespace',
    tags: ['ingress', 'egress', 'default-deny', 'stacked', 'conflict', 'pod-selector', 'cyclonus'],
    steps: [
      {
        apply: docs(
          policy('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]'),
          policy(
            'x',
            'allow-intra',
            `
            podSelector: {}
            ingress:
              - from: [{ podSelector: {} }]
            egress:
              - to: [{ podSelector: {} }]`,
          ),
        ),
      },
    ],
  },
];

const policyTypes: Scenario[] = [
  {
    name: 'policy-types-default-with-egress-rules',
    tags: ['egress', 'ingress', 'policy-types', 'upstream'],
    // No policyTypes + egress rules defaults to [Ingress, Egress]: ingress to x/a is denied too.
    steps: [{ apply: onXA('egress-to-y-defaulted', 'egress:\n  - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]') }],
  },
  {
    name: 'policy-types-default-ingress-only',
    tags: ['ingress', 'policy-types'],
    // No policyTypes, no egress rules: Ingress only, egress from x/a stays open.
    steps: [{ apply: onXA('ingress-from-z-defaulted', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]') }],
  },
  {
    name: 'egress-only-policy-ignores-ingress-rules',
    tags: ['egress', 'policy-types', 'cyclonus'],
    steps: [
      {
        apply: onXA(
          'egress-only',
          `
          policyTypes: [Egress]
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-only-policy-ignores-egress-rules',
    tags: ['ingress', 'policy-types', 'cyclonus'],
    steps: [
      {
        apply: onXA(
          'ingress-only',
          `
          policyTypes: [Ingress]
          ingress:
            - from: [{ podSelector: {} }]
          egress:
            - to: [{ podSelector: { matchLabels: { pod: nonexistent } } }]`,
        ),
      },
    ],
  },
];

const multiStep: Scenario[] = [
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
