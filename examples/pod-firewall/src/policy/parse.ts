/**
 * YAML in, model.ts data out: NetworkPolicy manifests (as `kubectl apply`
 * would accept them) and the cluster description file. Validation follows
 * the API server's rules closely enough that a manifest accepted here is
 * accepted by Kubernetes and means the same thing, and every rejection names
 * the offending field, because a firewall that silently drops half a rule is
 * worse than one that refuses to start.
 */

import { LineCounter, isNode, parseAllDocuments, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { addressIn, formatIpv4, parseIpv4, parsePrefix, prefixSize, tryParseIpv4, tryParsePrefix } from './cidr.js';
import type { Cluster, ContainerPort, Namespace, NetworkPolicy, Pod } from './model.js';

export type PolicyErrorCode = 'POLICY_INVALID' | 'CLUSTER_INVALID' | 'YAML_INVALID';

export interface PolicyErrorDetails {
  /** The offending field, e.g. `spec.ingress[0].ports[1].endPort`. */
  readonly path?: string;
  /** 0-based index of the YAML document in a multi-document stream. */
  readonly document?: number;
  /** 1-based line of the offending field (or its nearest present parent). */
  readonly line?: number;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly path?: string;
  readonly document?: number;
  readonly line?: number;

  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    details: PolicyErrorDetails = {},
  ) {
    super(message);
    this.path = details.path;
    this.document = details.document;
    this.line = details.line;
  }
}

type PathSegment = string | number;

// ---------------------------------------------------------------------------
// Kubernetes name and address rules

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function dns1123LabelProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 63) return `must be at most 63 characters (got ${s.length})`;
  if (!DNS1123_LABEL.test(s)) return `"${s}" must consist of lowercase alphanumerics and '-', starting and ending alphanumeric`;
  return undefined;
}

function dns1123SubdomainProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 253) return `must be at most 253 characters (got ${s.length})`;
  if (!s.split('.').every((part) => DNS1123_LABEL.test(part))) {
    return `"${s}" must consist of lowercase alphanumerics, '-' and '.', each '.'-separated part starting and ending alphanumeric`;
  }
  return undefined;
}

/** A label key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 characters. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && dns1123SubdomainProblem(prefix)) return `label key "${key}" has an invalid prefix`;
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return (
      `label key "${key}" must be at most 63 alphanumerics, '-', '_' or '.' (starting and ending alphanumeric), ` +
      "with an optional DNS subdomain prefix and '/'"
    );
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return `label value must be at most 63 characters (got ${value.length})`;
  if (value !== '' && !QUALIFIED_NAME_PART.test(value)) {
    return `label value "${value}" must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** IANA_SVC_NAME, as Kubernetes validates named ports. */
function portNameProblem(name: string): string | undefined {
  const bad = (why: string) => `"${name}" is not a valid port name: ${why}`;
  if (name.length < 1 || name.length > 15) return bad('must be 1-15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) return bad("must contain only lowercase alphanumerics and '-'");
  if (!/[a-z]/.test(name)) {
    return /^[0-9]+$/.test(name)
      ? bad(`must contain a letter (for port number ${name}, write it without quotes)`)
      : bad('must contain at least one letter');
  }
  if (name.startsWith('-') || name.endsWith('-')) return bad("must not begin or end with '-'");
  if (name.includes('--')) return bad("must not contain '--'");
  return undefined;
}

const cidrProblem = (s: string) => (tryParsePrefix(s) ? undefined : `"${s}" is not an IPv4 CIDR (a.b.c.d/len, len 0-32)`);

// ---------------------------------------------------------------------------
// Schemas shared by policies and the cluster file

const issue = (ctx: z.RefinementCtx, path: PathSegment[], message: string | undefined) => {
  if (message !== undefined) ctx.addIssue({ code: 'custom', path, message });
};

const protocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);

const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    issue(ctx, [key], labelKeyProblem(key) ?? labelValueProblem(value));
  }
});

const requirementSchema = z
  .strictObject({
    key: z.string(),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).optional(),
  })
  .superRefine((req, ctx) => {
    issue(ctx, ['key'], labelKeyProblem(req.key));
    const values = req.values ?? [];
    if (req.operator === 'In' || req.operator === 'NotIn') {
      if (values.length === 0) issue(ctx, ['values'], `required and non-empty for operator ${req.operator}`);
    } else if (values.length > 0) {
      issue(ctx, ['values'], `must be empty for operator ${req.operator}`);
    }
    values.forEach((v, i) => issue(ctx, ['values', i], labelValueProblem(v)));
  });

const selectorSchema = z.strictObject({
  matchLabels: labelsSchema.optional(),
  matchExpressions: z.array(requirementSchema).optional(),
});

// ---------------------------------------------------------------------------
// NetworkPolicy

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

const ipBlockSchema = z
  .strictObject({ cidr: z.string(), except: z.array(z.string()).optional() })
  .superRefine((block, ctx) => {
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

// ---------------------------------------------------------------------------
// Error reporting

/** `spec.ingress[0].from` style; keys that are not identifiers are bracketed, as in `matchLabels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
};

function issueMessage(iss: z.core.$ZodIssue): string {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'required';
      // `version: 1` in a selector is the classic mistake: YAML made it a number.
      const hint = iss.expected === 'string' && typeof iss.input !== 'object' ? ' (quote it in YAML)' : '';
      return `must be ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}${hint}`;
    }
    case 'invalid_value': {
      const options = iss.values.map((v) => JSON.stringify(v));
      const want = options.length === 1 ? options[0] : `one of ${options.join(', ')}`;
      return `must be ${want} (got ${iss.input === undefined ? 'nothing' : JSON.stringify(iss.input)})`;
    }
    default:
      return iss.message;
  }
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The field names an object schema allows at `path`, for "did you mean" hints. */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let s: z.ZodType = schema;
  let i = 0;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (i === path.length) break;
    else if (s instanceof z.ZodArray && typeof path[i] === 'number') (s = s.element as z.ZodType), i++;
    else if (s instanceof z.ZodObject && typeof path[i] === 'string') {
      const next = (s.shape as Record<string, z.ZodType>)[path[i] as string];
      if (!next) return [];
      (s = next), i++;
    } else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

interface Problem {
  path: PathSegment[];
  message: string;
}

/** The one issue worth showing: an unknown field first, since a typo also makes its intended field look "required". */
function firstProblem(error: z.ZodError, schema: z.ZodType): Problem {
  const issues = error.issues;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const key = unknown.keys[0] ?? '';
    const parent = unknown.path as PathSegment[];
    const guess = knownKeys(schema, parent)
      .map((k) => ({ k, d: editDistance(key, k) }))
      .filter(({ d }) => d <= 2)
      .sort((a, b) => a.d - b.d)[0];
    return { path: [...parent, key], message: guess ? `unknown field (did you mean "${guess.k}"?)` : 'unknown field' };
  }
  const first = issues[0];
  if (!first) return { path: [], message: 'invalid' };
  return { path: first.path as PathSegment[], message: issueMessage(first) };
}

/** 1-based line of the node at `path`, or of its nearest ancestor that exists in the document. */
function lineOf(doc: Document | undefined, lines: LineCounter | undefined, path: readonly PathSegment[]): number | undefined {
  if (!doc || !lines) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** YAML nulls (`from:` with nothing after it) mean "absent" to the API server; drop them so optional fields accept them. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, dropNulls(x)]),
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface YamlSource {
  doc: Document;
  lines: LineCounter;
  index: number;
}

/** Parses every document, failing on the first syntax error; `where` names a document in messages. */
function parseYamlStream(text: string, where: (index: number) => string): YamlSource[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  return docs.map((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const what = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.message;
      const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw new PolicyError('YAML_INVALID', `YAML syntax error${where(index)}${at}: ${what}`, {
        document: index,
        line: pos?.line,
      });
    }
    return { doc, lines, index };
  });
}

// ---------------------------------------------------------------------------
// parsePolicies

function policyFailure(raw: unknown, src: YamlSource, path: PathSegment[], message: string): PolicyError {
  const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : {};
  const subject = typeof meta.name === 'string' ? `NetworkPolicy "${meta.name}"` : 'NetworkPolicy';
  const where = formatPath(path);
  const line = lineOf(src.doc, src.lines, path);
  return new PolicyError(
    'POLICY_INVALID',
    `${subject} (document ${src.index}): ${where ? `${where}: ` : ''}${message}${line ? ` (line ${line})` : ''}`,
    { path: where, document: src.index, line },
  );
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
  const raw: unknown = src.doc.toJS();
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
 * Parses one or more NetworkPolicy manifests (multi-document YAML, or a
 * `kind: List`). Empty documents are skipped. Throws PolicyError naming the
 * first offending field; the same namespace/name twice is an error too.
 */
export function parsePolicies(yamlText: string): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  const seen = new Map<string, number>();
  for (const src of parseYamlStream(yamlText, (i) => ` (document ${i})`)) {
    for (const { policy, at } of policiesInDocument(src)) {
      const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
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

// ---------------------------------------------------------------------------
// parseCluster

const DEFAULT_POD_CIDR = '10.244.0.0/16';

const containerPortSchema = z
  .strictObject({ port: z.int(), protocol: protocolSchema.default('TCP'), name: z.string().optional() })
  .superRefine((p, ctx) => {
    if (p.port < 1 || p.port > 65535) issue(ctx, ['port'], `must be between 1 and 65535 (got ${p.port})`);
    if (p.name !== undefined) issue(ctx, ['name'], portNameProblem(p.name));
  });

const podFileSchema = z
  .strictObject({
    name: z.string(),
    labels: labelsSchema.default({}),
    ip: z.string().optional(),
    ports: z.array(containerPortSchema).default([]),
  })
  .superRefine((pod, ctx) => {
    issue(ctx, ['name'], dns1123LabelProblem(pod.name));
    if (pod.ip !== undefined && tryParseIpv4(pod.ip) === undefined) issue(ctx, ['ip'], `"${pod.ip}" is not an IPv4 address`);
    pod.ports.forEach((p, i) => {
      const sameName = p.name !== undefined && pod.ports.findIndex((q) => q.name === p.name) !== i;
      const sameNumber = pod.ports.findIndex((q) => q.port === p.port && q.protocol === p.protocol) !== i;
      if (sameName) issue(ctx, ['ports', i, 'name'], `duplicate port name "${p.name}"`);
      else if (sameNumber) issue(ctx, ['ports', i, 'port'], `duplicate port ${p.port}/${p.protocol}`);
    });
  });

const namespaceFileSchema = z
  .strictObject({ name: z.string(), labels: labelsSchema.default({}), pods: z.array(podFileSchema).default([]) })
  .superRefine((ns, ctx) => {
    issue(ctx, ['name'], dns1123LabelProblem(ns.name));
    const own = ns.labels['kubernetes.io/metadata.name'];
    if (own !== undefined && own !== ns.name) {
      issue(ctx, ['labels', 'kubernetes.io/metadata.name'], `must equal the namespace name "${ns.name}" (or be left out)`);
    }
    ns.pods.forEach((pod, i) => {
      if (ns.pods.findIndex((p) => p.name === pod.name) !== i) {
        issue(ctx, ['pods', i, 'name'], `duplicate pod name "${pod.name}" in namespace "${ns.name}"`);
      }
    });
  });

const clusterFileSchema = z
  .strictObject({ podCidr: z.string().default(DEFAULT_POD_CIDR), namespaces: z.array(namespaceFileSchema) })
  .superRefine((file, ctx) => {
    const cidr = tryParsePrefix(file.podCidr);
    if (!cidr) return issue(ctx, ['podCidr'], cidrProblem(file.podCidr));
    const ips = new Map<string, string>();
    file.namespaces.forEach((ns, i) => {
      if (file.namespaces.findIndex((n) => n.name === ns.name) !== i) {
        issue(ctx, ['namespaces', i, 'name'], `duplicate namespace "${ns.name}"`);
      }
      ns.pods.forEach((pod, j) => {
        const ip = pod.ip === undefined ? undefined : tryParseIpv4(pod.ip);
        if (pod.ip === undefined || ip === undefined) return;
        const path = ['namespaces', i, 'pods', j, 'ip'];
        const owner = ips.get(formatIpv4(ip));
        if (owner) issue(ctx, path, `${pod.ip} is already used by pod ${owner}`);
        else if (!addressIn(ip, cidr)) issue(ctx, path, `${pod.ip} is outside podCidr ${file.podCidr}`);
        ips.set(formatIpv4(ip), `${ns.name}/${pod.name}`);
      });
    });
  });

type ClusterFile = z.output<typeof clusterFileSchema>;

/**
 * Fills in missing pod IPs. With a /16 (kind's default layout) namespace i
 * gets the (i+1)th /24 and its pod j the host .(j+11), so addresses are easy
 * to read in traces; other sizes allocate sequentially from network+11.
 * Explicit IPs are never reused.
 */
function allocateIps(file: ClusterFile, fail: (path: PathSegment[], message: string) => never): number[][] {
  const cidr = parsePrefix(file.podCidr); // validated by the schema
  const used = new Set<number>();
  for (const ns of file.namespaces) for (const pod of ns.pods) if (pod.ip !== undefined) used.add(parseIpv4(pod.ip));
  const take = (first: number, last: number): number | undefined => {
    for (let ip = first; ip <= last; ip++) {
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    return undefined;
  };
  let next = cidr.addr + 11;
  const lastHost = cidr.addr + prefixSize(cidr) - 2;
  return file.namespaces.map((ns, i) =>
    ns.pods.map((pod, j) => {
      if (pod.ip !== undefined) return parseIpv4(pod.ip);
      const subnet = cidr.addr + (i + 1) * 256;
      const ip = cidr.len === 16 ? (i < 255 ? take(subnet + j + 11, subnet + 254) : undefined) : take(next, lastHost);
      if (ip === undefined) {
        fail(['namespaces', i, 'pods', j], `no free address in podCidr ${file.podCidr} for this pod; give it an ip`);
      }
      next = ip + 1;
      return ip;
    }),
  );
}

/**
 * Parses the cluster description file:
 *
 *     podCidr: 10.244.0.0/16        # optional (this is the default)
 *     namespaces:
 *       - name: x
 *         labels: { ns: x }         # kubernetes.io/metadata.name is added
 *         pods:
 *           - name: a
 *             labels: { pod: a }
 *             ip: 10.244.1.11       # optional, allocated when absent
 *             ports: [{ port: 80, protocol: TCP, name: serve-80-tcp }]
 *
 * Throws PolicyError: CLUSTER_INVALID naming the field, or YAML_INVALID.
 */
export function parseCluster(yamlText: string): Cluster {
  const sources = parseYamlStream(yamlText, (i) => (i === 0 ? ' in the cluster file' : ` in the cluster file (document ${i})`));
  const src = sources.length === 1 ? sources[0] : undefined;
  const fail = (path: PathSegment[], message: string): never => {
    const where = formatPath(path);
    const line = lineOf(src?.doc, src?.lines, path);
    throw new PolicyError('CLUSTER_INVALID', `Cluster: ${where ? `${where}: ` : ''}${message}${line ? ` (line ${line})` : ''}`, {
      path: where,
      line,
    });
  };
  if (!src) return fail([], sources.length === 0 ? 'the file is empty' : `must be a single YAML document (got ${sources.length})`);
  const raw: unknown = src.doc.toJS();
  if (!isRecord(raw)) return fail([], `must be a mapping with namespaces, got ${describeValue(raw)}`);
  const result = clusterFileSchema.safeParse(dropNulls(raw), { reportInput: true });
  if (!result.success) {
    const { path, message } = firstProblem(result.error, clusterFileSchema);
    return fail(path, message);
  }
  const file = result.data;
  const ips = allocateIps(file, fail);
  const namespaces: Namespace[] = file.namespaces.map((ns) => ({
    name: ns.name,
    labels: { ...ns.labels, 'kubernetes.io/metadata.name': ns.name },
  }));
  const pods: Pod[] = file.namespaces.flatMap((ns, i) =>
    ns.pods.map((pod, j) => ({
      namespace: ns.name,
      name: pod.name,
      labels: pod.labels,
      ip: formatIpv4(ips[i]?.[j] ?? 0),
      ports: pod.ports.map((p): ContainerPort => (p.name === undefined ? { port: p.port, protocol: p.protocol } : { ...p })),
    })),
  );
  return { namespaces, pods };
}
