/**
 * The cluster description file in, a model.ts Cluster out: namespaces with
 * labels, pods with labels, container ports and (optional) IPs, validated
 * with the same rules as the API server's, and pod IPs allocated where the
 * file gives none (keeping a running cluster's addresses when it is given).
 * A pod or labels given on the command line are checked by the same rules.
 */
import { z } from 'zod';
import { addressIn, formatIpv4, parseIpv4, parsePrefix, prefixSize, tryParseIpv4, tryParsePrefix } from './cidr.js';
import { cidrProblem, dns1123LabelProblem, issue, labelsSchema, portNameProblem, protocolSchema } from './k8s-rules.js';
import { PolicyError } from './errors.js';
import { podKey, type Cluster, type ContainerPort, type Labels, type Namespace, type Pod } from './model.js';
import { describeValue, documentValue, dropNulls, fieldError, firstProblem, isRecord, parseYamlStream, type PathSegment } from './yaml-diagnostics.js';

const DEFAULT_POD_CIDR = '10.244.0.0/16';

const containerPortSchema = z.strictObject({ port: z.int(), protocol: protocolSchema.default('TCP'), name: z.string().optional() }).superRefine((p, ctx) => {
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
        ips.set(formatIpv4(ip), podKey({ namespace: ns.name, name: pod.name }));
      });
    });
  });

type ClusterFile = z.output<typeof clusterFileSchema>;

/**
 * Fills in missing pod IPs. A pod of `previous` (a running cluster) keeps its
 * address when the file gives none and no other pod claims it. Otherwise,
 * with a /16 (kind's default layout) namespace i gets the (i+1)th /24 and its
 * pod j the host .(j+11), so addresses are easy to read in traces; other
 * sizes allocate sequentially from network+11. Explicit IPs are never reused.
 */
function allocateIps(file: ClusterFile, fail: (path: PathSegment[], message: string) => never, previous?: Cluster): number[][] {
  const cidr = parsePrefix(file.podCidr); // validated by the schema
  const used = new Set<number>();
  for (const ns of file.namespaces) for (const pod of ns.pods) if (pod.ip !== undefined) used.add(parseIpv4(pod.ip));
  const had = new Map((previous?.pods ?? []).map((p) => [podKey(p), parseIpv4(p.ip)]));
  const kept = file.namespaces.map((ns) =>
    ns.pods.map((pod) => {
      const ip = had.get(podKey({ namespace: ns.name, name: pod.name }));
      if (pod.ip !== undefined || ip === undefined || used.has(ip) || !addressIn(ip, cidr)) return undefined;
      used.add(ip);
      return ip;
    }),
  );
  // Addresses of pods that leave are not handed to new pods in the same change.
  for (const ip of had.values()) used.add(ip);
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
      const keep = kept[i]?.[j];
      if (keep !== undefined) return keep;
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
  return parseClusterFile(yamlText).cluster;
}

export interface ClusterFileContents {
  readonly cluster: Cluster;
  readonly podCidr: string;
}

/** The cluster file and its podCidr; with `previous` (the running cluster) its pods keep their addresses where the file gives none. */
export function parseClusterFile(yamlText: string, previous?: Cluster): ClusterFileContents {
  const sources = parseYamlStream(yamlText, (i) => (i === 0 ? ' in the cluster file' : ` in the cluster file (document ${i})`));
  const src = sources.length === 1 ? sources[0] : undefined;
  const fail = (path: PathSegment[], message: string): never => {
    throw fieldError('CLUSTER_INVALID', 'Cluster', src, path, message);
  };
  if (!src) return fail([], sources.length === 0 ? 'the file is empty' : `must be a single YAML document (got ${sources.length})`);
  const raw: unknown = documentValue(src);
  if (!isRecord(raw)) return fail([], `must be a mapping with namespaces, got ${describeValue(raw)}`);
  const result = clusterFileSchema.safeParse(dropNulls(raw), { reportInput: true });
  if (!result.success) {
    const { path, message } = firstProblem(result.error, clusterFileSchema);
    return fail(path, message);
  }
  return { cluster: parseValidated(result.data, fail, previous), podCidr: result.data.podCidr };
}

/** A pod as the cluster file would declare it, given in code or on the command line. */
export interface PodSpec {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Labels;
  readonly ip?: string;
  readonly ports?: readonly { readonly port: number; readonly protocol?: string; readonly name?: string }[];
}

/**
 * A new pod for a running cluster, checked by the cluster file's rules
 * (CLUSTER_INVALID naming the field): its namespace (made when new, with
 * `namespaceLabels`), an address from `podCidr` when none is given, never
 * one another pod has.
 */
export function addPodToCluster(cluster: Cluster, podCidr: string, spec: PodSpec, namespaceLabels: Labels = {}): Cluster {
  const subject = `pod ${spec.namespace}/${spec.name}`;
  const fail = (path: PathSegment[], message: string): never => {
    throw fieldError('CLUSTER_INVALID', subject, undefined, path, message);
  };
  if (cluster.pods.some((p) => p.namespace === spec.namespace && p.name === spec.name)) fail([], 'already exists');
  const existingNs = cluster.namespaces.find((n) => n.name === spec.namespace);
  const file = {
    podCidr,
    namespaces: [
      ...cluster.namespaces.map((n) => ({
        name: n.name,
        labels: n.labels,
        pods: cluster.pods.filter((p) => p.namespace === n.name).map((p) => ({ name: p.name, labels: p.labels, ip: p.ip, ports: p.ports })),
      })),
      ...(existingNs ? [] : [{ name: spec.namespace, labels: namespaceLabels, pods: [] }]),
    ],
  };
  const ns = file.namespaces.find((n) => n.name === spec.namespace)!;
  ns.pods.push({ name: spec.name, labels: spec.labels ?? {}, ip: spec.ip as string, ports: (spec.ports ?? []) as Pod['ports'] });
  if (spec.ip === undefined) delete (ns.pods[ns.pods.length - 1] as { ip?: string }).ip;
  const result = clusterFileSchema.safeParse(dropNulls(file), { reportInput: true });
  if (!result.success) {
    const { path, message } = firstProblem(result.error, clusterFileSchema);
    // Paths into the pod we add read better from the pod itself.
    const nsIndex = file.namespaces.indexOf(ns);
    const own = path[0] === 'namespaces' && path[1] === nsIndex && path[2] === 'pods' && path[3] === ns.pods.length - 1;
    const nsOwn = path[0] === 'namespaces' && path[1] === nsIndex && path[2] === 'labels';
    return fail(own ? path.slice(4) : nsOwn ? ['namespace', ...path.slice(2)] : path, message);
  }
  return parseValidated(result.data, fail, cluster);
}

function parseValidated(file: ClusterFile, fail: (path: PathSegment[], message: string) => never, previous?: Cluster): Cluster {
  const ips = allocateIps(file, fail, previous);
  return {
    namespaces: file.namespaces.map((ns) => ({ name: ns.name, labels: { ...ns.labels, 'kubernetes.io/metadata.name': ns.name } })),
    pods: file.namespaces.flatMap((ns, i) =>
      ns.pods.map((pod, j) => ({
        namespace: ns.name,
        name: pod.name,
        labels: pod.labels,
        ip: formatIpv4(ips[i]?.[j] ?? 0),
        ports: pod.ports.map((p): ContainerPort => (p.name === undefined ? { port: p.port, protocol: p.protocol } : { ...p })),
      })),
    ),
  };
}

/** Labels given on the command line, checked as the API server checks them (CLUSTER_INVALID naming the key). */
export function checkLabels(subject: string, labels: Labels): Labels {
  const result = labelsSchema.safeParse(labels);
  if (!result.success) {
    const issue0 = result.error.issues[0]!;
    throw new PolicyError('CLUSTER_INVALID', `${subject}: labels${issue0.path.length ? `["${String(issue0.path[0])}"]` : ''}: ${issue0.message}`, {
      path: `labels`,
    });
  }
  return result.data;
}
