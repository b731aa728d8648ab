/**
 * Held-out scenarios over time: policies applied, deleted and applied
 * again; a policy replaced under the same name by one of another kind
 * (selectors to ipBlock, ingress to egress); pod and namespace labels that
 * move pods into and out of selections, of policies' subjects and peers.
 */
import { docs, policy } from '../../scenario.js';
import { on, type HeldoutScenario } from '../vocabulary.js';

const shopDeny = policy('shop', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]');
const dbFromOps = on('shop', 'app: db', 'db-from-ops', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]');

export const lifecycle: HeldoutScenario[] = [
  {
    name: 'apply-delete-reapply',
    tags: ['ingress', 'egress', 'delete', 'multi-step', 'default-deny'],
    steps: [{ apply: shopDeny }, { delete: ['shop/deny-all'] }, { apply: shopDeny }, { apply: dbFromOps }, { delete: ['shop/deny-all'] }, { apply: shopDeny }],
  },
  {
    name: 'replace-selector-peer-by-ip-block-then-egress',
    tags: ['ingress', 'egress', 'update', 'ip-block', 'multi-step'],
    steps: [
      { apply: on('ops', 'app: web', 'web-policy', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: shop } } }]') },
      { apply: on('ops', 'app: web', 'web-policy', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.3.0/24 } }]') },
      {
        apply: on(
          'ops',
          'app: web',
          'web-policy',
          'policyTypes: [Egress]\negress:\n  - to: [{ ipBlock: { cidr: 10.244.1.0/24 } }]\n    ports: [{ port: 443 }]',
        ),
      },
    ],
  },
  {
    name: 'namespace-labels-move-peers-in-and-out',
    tags: ['ingress', 'namespace-selector', 'label-change', 'multi-step'],
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'db-from-prod',
          'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { env: prod } } }]\n    ports: [{ port: 32768 }]',
        ),
      },
      { namespaceLabels: { dev: { team: 'dev', env: 'prod' } } },
      { namespaceLabels: { ops: { team: 'ops' } } },
      { namespaceLabels: { dev: { team: 'dev' }, ops: { team: 'ops', env: 'prod' } } },
    ],
  },
  {
    name: 'pod-labels-move-a-pod-under-a-range-policy',
    tags: ['ingress', 'pod-selector', 'label-change', 'end-port', 'multi-step'],
    steps: [
      { apply: on('ops', 'app: api', 'api-ports', 'ingress:\n  - from: [{ namespaceSelector: {} }]\n    ports: [{ port: 1024, endPort: 8080 }]') },
      { podLabels: { 'ops/monitor': { app: 'api' } } },
      { podLabels: { 'ops/web': { app: 'api', tier: 'front' } } },
      { podLabels: { 'ops/monitor': { app: 'monitor' }, 'ops/web': { app: 'web', tier: 'front' } } },
    ],
  },
  {
    name: 'pod-labels-split-two-identical-pods',
    tags: ['ingress', 'egress', 'pod-selector', 'label-change', 'same-labels', 'multi-step'],
    // web-1 and web-2 start as one identity; a label change splits them, a second joins them again.
    steps: [
      {
        apply: docs(
          on('shop', 'app: db', 'db-from-canary', 'ingress:\n  - from: [{ podSelector: { matchLabels: { track: canary } } }]'),
          on('shop', 'track: canary', 'canary-egress', 'policyTypes: [Egress]\negress:\n  - to: [{ podSelector: { matchLabels: { app: db } } }]'),
        ),
      },
      { podLabels: { 'shop/web-2': { app: 'web', tier: 'front', track: 'canary' } } },
      { podLabels: { 'shop/web-1': { app: 'web', tier: 'front', track: 'canary' } } },
      { podLabels: { 'shop/web-1': { app: 'web', tier: 'front' }, 'shop/web-2': { app: 'web', tier: 'front' } } },
    ],
  },
  {
    name: 'delete-everything-then-apply-egress-deny',
    tags: ['egress', 'delete', 'default-deny', 'multi-step'],
    steps: [
      { apply: docs(shopDeny, dbFromOps, on('dev', 'app: client', 'client-in', 'ingress:\n  - from: [{ podSelector: {}, namespaceSelector: {} }]')) },
      { delete: ['shop/deny-all', 'shop/db-from-ops', 'dev/client-in'] },
      { apply: policy('ops', 'deny-egress', 'podSelector: {}\npolicyTypes: [Egress]') },
    ],
  },
];
