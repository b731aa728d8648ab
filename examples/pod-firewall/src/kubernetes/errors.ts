/**
 * The errors of the firewall's Kubernetes side (the API snapshot source and
 * the identity allocator): KubernetesError, with stable codes that
 * docs/errors.md lists.
 */
import { TsbpfError } from '@tsbpf/object';

export type KubernetesErrorCode =
  | 'KUBECONFIG_INVALID' // the kubeconfig cannot be read, or names no cluster
  | 'API_FAILED' // the API server refused a request or could not be reached (the message names the request and status)
  | 'IDENTITY_EXHAUSTED' // every candidate number of a label set belongs to another label set
  | 'SOURCE_STOPPED'; // start() of a snapshot source that was stopped (or started twice)

export class KubernetesError extends TsbpfError<KubernetesErrorCode> {
  override readonly name = 'KubernetesError';
}
