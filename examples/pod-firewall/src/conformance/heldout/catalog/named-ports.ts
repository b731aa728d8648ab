/**
 * Held-out scenarios on named ports, which resolve on each destination pod:
 * shop/web-1 and shop/web-2 share every label but swap the numbers of
 * "http" (80 / 8080) and "admin" (8080 / 80); "stats" is UDP on most pods
 * and TCP on ops/monitor. Reached through selectors, through ipBlocks (in
 * both directions), mixed with numbers, and across label changes.
 */
import { docs, policy } from '../../scenario.js';
import { on, type HeldoutScenario } from '../vocabulary.js';

export const namedPorts: HeldoutScenario[] = [
  {
    name: 'named-port-identical-labels-different-numbers',
    tags: ['ingress', 'named-port', 'same-labels'],
    steps: [{ apply: on('shop', 'app: web', 'web-http', 'ingress:\n  - from: [{ namespaceSelector: {} }]\n    ports: [{ port: http }]') }],
  },
  {
    name: 'named-port-through-ingress-ip-block',
    tags: ['ingress', 'named-port', 'ip-block', 'same-labels'],
    steps: [{ apply: on('shop', 'tier: front', 'admin-from-dev', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.3.0/24 } }]\n    ports: [{ port: admin }]') }],
  },
  {
    name: 'named-port-through-egress-ip-block',
    tags: ['egress', 'named-port', 'ip-block'],
    // To every pod's own "http": web-1 80, web-2 8080, ops/web 443, monitor 65535; db has none.
    steps: [
      {
        apply: on(
          'dev',
          'app: client',
          'egress-http-anywhere',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ ipBlock: { cidr: 10.244.0.0/16 } }]
              ports: [{ port: http }]`,
        ),
      },
    ],
  },
  {
    name: 'named-port-egress-to-selected-pods',
    // web-1 on 80, web-2 on 8080 (one identity, two numbers), ops/web on 443.
    tags: ['egress', 'named-port', 'pod-selector', 'namespace-selector', 'same-labels'],
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'egress-http-to-web',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: web } } }]
              ports: [{ port: http }]`,
        ),
      },
    ],
  },
  {
    name: 'named-port-udp-name-that-is-tcp-elsewhere',
    tags: ['ingress', 'egress', 'named-port', 'protocol', 'udp'],
    // Ingress: each shop pod's UDP "stats". Egress of monitor: TCP "stats" exists only on monitor itself, so it reaches no one.
    steps: [
      {
        apply: docs(
          policy(
            'shop',
            'stats-from-ops',
            `
            podSelector: { matchExpressions: [{ key: app, operator: Exists }] }
            ingress:
              - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]
                ports: [{ port: stats, protocol: UDP }]`,
          ),
          on('ops', 'app: monitor', 'monitor-egress-stats', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: stats }]'),
        ),
      },
    ],
  },
  {
    name: 'named-and-numbered-ports-in-one-rule',
    tags: ['ingress', 'named-port', 'ports', 'same-labels'],
    steps: [
      {
        apply: on(
          'shop',
          'app: web',
          'http-and-443',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]
              ports: [{ port: http }, { port: 443 }, { port: stats, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'named-port-follows-label-changes',
    tags: ['ingress', 'named-port', 'label-change', 'multi-step', 'same-labels'],
    steps: [
      {
        apply: on(
          'shop',
          'app: web',
          'web-http-from-dev',
          'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: dev } } }]\n    ports: [{ port: http }]',
        ),
      },
      // web-2 leaves the selection; db (which has no "http") joins it and becomes isolated with nothing allowed.
      { podLabels: { 'shop/web-2': { app: 'cache', tier: 'front' }, 'shop/db': { app: 'web' } } },
      { podLabels: { 'shop/web-2': { app: 'web', tier: 'front' }, 'shop/db': { app: 'db' } } },
    ],
  },
];
