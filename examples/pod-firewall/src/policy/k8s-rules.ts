/**
 * The API server's validation rules that policies and the cluster file share:
 * DNS names, label keys and values, port names and CIDRs (each a function
 * returning the problem, or undefined), and the zod schemas built on them
 * (protocols, labels, label selectors).
 */
import { z } from 'zod';
import { tryParsePrefix } from './cidr.js';
import type { PathSegment } from './yaml-diagnostics.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function dns1123LabelProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 63) return `must be at most 63 characters (got ${s.length})`;
  if (!DNS1123_LABEL.test(s)) return `"${s}" must consist of lowercase alphanumerics and '-', starting and ending alphanumeric`;
  return undefined;
}

export function dns1123SubdomainProblem(s: string): string | undefined {
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
export function portNameProblem(name: string): string | undefined {
  const bad = (why: string) => `"${name}" is not a valid port name: ${why}`;
  if (name.length < 1 || name.length > 15) return bad('must be 1-15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) return bad("must contain only lowercase alphanumerics and '-'");
  if (!/[a-z]/.test(name)) {
    return /^[0-9]+$/.test(name) ? bad(`must contain a letter (for port number ${name}, write it without quotes)`) : bad('must contain at least one letter');
  }
  if (name.startsWith('-') || name.endsWith('-')) return bad("must not begin or end with '-'");
  if (name.includes('--')) return bad("must not contain '--'");
  return undefined;
}

export const cidrProblem = (s: string) => (tryParsePrefix(s) ? undefined : `"${s}" is not an IPv4 CIDR (a.b.c.d/len, len 0-32)`);

/** Adds a custom issue at `path` when there is a problem (`message` undefined: none). */
export const issue = (ctx: z.RefinementCtx, path: PathSegment[], message: string | undefined) => {
  if (message !== undefined) ctx.addIssue({ code: 'custom', path, message });
};

export const protocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);

export const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
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

export const selectorSchema = z.strictObject({
  matchLabels: labelsSchema.optional(),
  matchExpressions: z.array(requirementSchema).optional(),
});
