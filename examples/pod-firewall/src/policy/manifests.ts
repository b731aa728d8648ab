/**
 * NetworkPolicy manifests in, model.ts policies out, as `kubectl apply` would
 * accept them: the schema (the API server's rules, closely enough that a
 * manifest accepted here is accepted by Kubernetes and means the same), single
 * and multi-document files and `kind: List`, and the way back to YAML. Every
 * rejection names the offending field, because a firewall that silently drops
 * half a rule is worse than one that refuses to start.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { addressIn, tryParsePrefix } from './cidr.js';
import type { PolicyError } from './errors.js';
import { cidrProblem, dns1123LabelProblem, dns1123SubdomainProblem, issue, portNameProblem, protocolSchema, selectorSchema } from './k8s-rules.js';
import { policyKey, type NetworkPolicy } from './model.js';
import {
  describeValue,
  documentValue,
  dropNulls,
  fieldError,
  firstProblem,
  isRecord,
  parseYamlStream,
  type PathSegment,
  type YamlSource,
} from './yaml-diagnostics.js';

const policyPortSchema = z
  .strictObject({
    protocol: protocolSchema.default('TCP'),
    port: z.union([z.int(), z.string()], { error: 'must be a port number or a port name' }).optional(),
    endPort: z.int().optional(),
  })
  .superRefine(({ port, endPort }, ctx) => {
    if (typeof port === 'number' && (port < 1 || port > 65535)) issue(ctx, ['port'], `must be between 1 and 65535 (got ${port})`);
    if (typeof port === 'string') issue(ctx, ['port'], portNameProblem(port));
    if (endPort === undefined) return;
    if (port === undefined) issue(ctx, ['endPort'], 'requires port to be set');
    else if (typeof port === 'string') issue(ctx, ['endPort'], 'cannot be used with a named port');
    else if (endPort < port) issue(ctx, ['endPort'], `must be >= port (${endPort} < ${port})`);
    else if (endPort > 65535) issue(ctx, ['endPort'], `must be <= 65535 (got ${endPort})`);
  });

const ipBlockSchema = z.strictObject({ cidr: z.string(), except: z.array(z.string()).optional() }).superRefine((block, ctx) => {
  const cidr = tryParsePrefix(block.cidr);
  if (!cidr) return issue(ctx, ['cidr'], cidrProblem(block.cidr));
  block.except?.forEach((text, i) => {
    const except = tryParsePrefix(text);
    if (!except) issue(ctx, ['except', i], cidrProblem(text));
    else if (!addressIn(except.addr, cidr)) issue(ctx, ['except', i], `${text} is not inside cidr ${block.cidr}`);
    else if (except.len <= cidr.len) {
      issue(ctx, ['except', i], `${text} must be strictly more specific than cidr ${block.cidr}`);
    }
  });
});

const peerSchema = z
  .strictObject({
    podSelector: selectorSchema.optional(),
    namespaceSelector: selectorSchema.optional(),
    ipBlock: ipBlockSchema.optional(),
  })
  .superRefine((peer, ctx) => {
    if (peer.ipBlock && (peer.podSelector || peer.namespaceSelector)) {
      issue(ctx, ['ipBlock'], 'cannot be combined with podSelector or namespaceSelector in the same peer');
    } else if (!peer.ipBlock && !peer.podSelector && !peer.namespaceSelector) {
      issue(ctx, [], 'must set at least one of podSelector, namespaceSelector, ipBlock');
    }
  });

const ingressRuleSchema = z.strictObject({
  from: z.array(peerSchema).optional(),
  ports: z.array(policyPortSchema).optional(),
});

const egressRuleSchema = z.strictObject({
  to: z.array(peerSchema).optional(),
  ports: z.array(policyPortSchema).optional(),
});

const policyTypesSchema = z.array(z.enum(['Ingress', 'Egress'])).superRefine((types, ctx) => {
  types.forEach((t, i) => {
    if (types.indexOf(t) !== i) issue(ctx, [i], `duplicate policy type "${t}"`);
  });
});

// ObjectMeta fields the API server fills in; accepted so `kubectl get -o yaml` output parses, then dropped.
const ignored = z.unknown().optional();
const metadataSchema = z
  .strictObject({
    name: z.string(),
    namespace: z.string().default('default'),
    labels: ignored,
    annotations: ignored,
    uid: ignored,
    resourceVersion: ignored,
    generation: ignored,
    creationTimestamp: ignored,
    managedFields: ignored,
    selfLink: ignored,
  })
  .superRefine((meta, ctx) => {
    issue(ctx, ['name'], dns1123SubdomainProblem(meta.name));
    issue(ctx, ['namespace'], dns1123LabelProblem(meta.namespace));
  });

const policySchema = z.strictObject({
  apiVersion: z.literal('networking.k8s.io/v1'),
  kind: z.literal('NetworkPolicy'),
  metadata: metadataSchema,
  spec: z.strictObject({
    podSelector: selectorSchema,
    policyTypes: policyTypesSchema.optional(),
    ingress: z.array(ingressRuleSchema).optional(),
    egress: z.array(egressRuleSchema).optional(),
  }),
  status: ignored,
});

function policyFailure(raw: unknown, src: YamlSource, path: PathSegment[], message: string): PolicyError {
  const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : {};
  const subject = typeof meta.name === 'string' ? `NetworkPolicy "${meta.name}"` : 'NetworkPolicy';
  return fieldError('POLICY_INVALID', `${subject} (document ${src.index})`, src, path, message, src.index);
}

function toPolicy(raw: unknown, src: YamlSource, prefix: PathSegment[]): NetworkPolicy {
  const result = policySchema.safeParse(dropNulls(raw), { reportInput: true });
  if (!result.success) {
    const { path, message } = firstProblem(result.error, policySchema);
    throw policyFailure(raw, src, [...prefix, ...path], message);
  }
  const { apiVersion, kind, metadata, spec } = result.data;
  return { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace }, spec };
}

// `kubectl get networkpolicies -o yaml` emits a v1 List; the typed NetworkPolicyList is accepted for symmetry.
const LIST_KINDS: Record<string, string> = { List: 'v1', NetworkPolicyList: 'networking.k8s.io/v1' };

interface Located {
  policy: NetworkPolicy;
  /** Where the policy sits in its document: [] or ['items', i]. */
  at: PathSegment[];
}

function policiesInDocument(src: YamlSource): Located[] {
  const raw: unknown = documentValue(src);
  if (raw === null || raw === undefined) return [];
  if (!isRecord(raw)) throw policyFailure(raw, src, [], `must be a mapping (a NetworkPolicy), got ${describeValue(raw)}`);
  const listVersion = typeof raw.kind === 'string' ? LIST_KINDS[raw.kind] : undefined;
  if (listVersion === undefined) return [{ policy: toPolicy(raw, src, []), at: [] }];
  if (raw.apiVersion !== listVersion) {
    throw policyFailure(raw, src, ['apiVersion'], `must be "${listVersion}" for kind ${String(raw.kind)}`);
  }
  if (!Array.isArray(raw.items)) throw policyFailure(raw, src, ['items'], 'must be a list of NetworkPolicy objects');
  return raw.items.map((item, i) => ({ policy: toPolicy(item, src, ['items', i]), at: ['items', i] }));
}

/**
 * One NetworkPolicy object as the API server serves it (JSON; `apiVersion`
 * and `kind` may be absent, as in list items), checked by the same schema as
 * a manifest. Throws PolicyError POLICY_INVALID naming the field.
 */
export function policyFromObject(raw: unknown): NetworkPolicy {
  const obj = isRecord(raw) ? { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...raw } : raw;
  const result = policySchema.safeParse(dropNulls(obj), { reportInput: true });
  if (!result.success) {
    const { path, message } = firstProblem(result.error, policySchema);
    const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : {};
    const subject = typeof meta.name === 'string' ? `NetworkPolicy ${String(meta.namespace ?? 'default')}/${meta.name}` : 'NetworkPolicy';
    throw fieldError('POLICY_INVALID', subject, undefined, path, message);
  }
  const { apiVersion, kind, metadata, spec } = result.data;
  return { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace }, spec };
}

/**
 * Parses one or more NetworkPolicy manifests (multi-document YAML, or a
 * `kind: List`). Empty documents are skipped. Throws PolicyError naming the
 * first offending field; the same namespace/name twice is an error too.
 */
export function parsePolicies(yamlText: string): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  const seen = new Map<string, number>();
  for (const src of parseYamlStream(yamlText, (i) => ` (document ${i})`)) {
    for (const { policy, at } of policiesInDocument(src)) {
      const key = policyKey(policy);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        const message = `duplicate NetworkPolicy ${key} (first in document ${earlier})`;
        throw policyFailure(policy, src, [...at, 'metadata', 'name'], message);
      }
      seen.set(key, src.index);
      out.push(policy);
    }
  }
  return out;
}

/** Multi-document YAML that parsePolicies reads back to equal objects. */
export function serializePolicies(policies: readonly NetworkPolicy[]): string {
  return policies.map((p) => stringify(p, { lineWidth: 0 })).join('---\n');
}
