/**
 * The cluster description file in, a model.ts Cluster out: namespaces with
 * labels, pods with labels, container ports and (optional) IPs, validated
 * with the same rules as the API server's, and pod IPs allocated where the
 * file gives none.
 */
import { z } from 'zod';
import { addressIn, formatIpv4, parseIpv4, parsePrefix, prefixSize, tryParseIpv4, tryParsePrefix } from './cidr.js';
import { cidrProblem, dns1123LabelProblem, issue, labelsSchema, portNameProblem, protocolSchema } from './k8s-rules.js';
import { podKey, type Cluster, type ContainerPort, type Namespace, type Pod } from './model.js';
import { describeValue, dropNulls, fieldError, firstProblem, isRecord, parseYamlStream, type PathSegment } from './yaml-diagnostics.js';

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
    throw fieldError('CLUSTER_INVALID', 'Cluster', src, path, message);
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
