/**
 * The errors of the pure policy layer: a manifest or cluster file that does
 * not validate (PolicyError, naming the field and line), and a model the map
 * compiler cannot number (CompileError). Codes are stable; docs/errors.md
 * lists them.
 */
import { TsbpfError } from '@tsbpf/object';

export type PolicyErrorCode =
  | 'POLICY_INVALID' // a NetworkPolicy manifest breaks the API server's rules
  | 'CLUSTER_INVALID' // the cluster file breaks its schema
  | 'YAML_INVALID' // not YAML at all (syntax, duplicate keys)
  | 'YAML_LIMIT' // a YAML input over a limit: size, nesting depth, aliases
  | 'ADDRESS_INVALID'; // an address or prefix in a model built in code is not IPv4

export interface PolicyErrorDetails {
  /** The offending field, e.g. `spec.ingress[0].ports[1].endPort`. */
  readonly path?: string;
  /** 0-based index of the YAML document in a multi-document stream. */
  readonly document?: number;
  /** 1-based line of the offending field (or its nearest present parent). */
  readonly line?: number;
}

export class PolicyError extends TsbpfError<PolicyErrorCode> {
  override readonly name = 'PolicyError';
  readonly path?: string;
  readonly document?: number;
  readonly line?: number;

  constructor(code: PolicyErrorCode, message: string, details: PolicyErrorDetails = {}) {
    super(code, message);
    this.path = details.path;
    this.document = details.document;
    this.line = details.line;
  }
}

export type CompileErrorCode =
  | 'NOT_ALLOCATED' // the Allocations given to compile lack a number the cluster or a policy needs
  | 'CAPACITY_EXCEEDED'; // the compiled policies do not fit the datapath's maps (nothing was changed)

export class CompileError extends TsbpfError<CompileErrorCode> {
  override readonly name = 'CompileError';
}
