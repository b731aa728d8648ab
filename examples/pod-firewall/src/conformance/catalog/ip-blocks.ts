/**
 * Conformance scenarios on ipBlock peers with except, in ingress and egress,
 * matching pod IPs.
 */
import { onXA, type Scenario } from '../scenario.js';

export const ipBlocks: Scenario[] = [
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
