/**
 * tc and XDP on any kernel: a tcx or XDP link where the kernel has them
 * (probed once per process), classic tc or XDP through netlink where it
 * does not, or whichever path the caller asks for with `via`.
 */
import { AttachType } from '@tsbpf/object';
import { describeValue } from './args.js';
import { LoaderError } from './errors.js';
import { kernelVersionCode } from './kconfig.js';
import { attachXdp, type Link, type XdpMode } from './link.js';
import type { Program } from './program.js';
import { attachTypeSupported } from './probes.js';
import { attachTc, type TcFilter, type TcOptions } from './tc-netlink.js';
import { attachTcx, type MultiProgOrder } from './tcx.js';
import { attachXdpNetlink, type XdpNetlinkAttachment } from './xdp-netlink.js';

/** `auto`: the link if the kernel has it, else netlink; `link` or `netlink` force one. */
export type AttachVia = 'auto' | 'link' | 'netlink';

function checkVia(via: unknown): AttachVia {
  if (via === undefined) return 'auto';
  if (via !== 'auto' && via !== 'link' && via !== 'netlink')
    throw new LoaderError('INVALID_ARGUMENT', `via must be auto, link or netlink, not ${describeValue(via)}`);
  return via;
}

/** Whether this kernel has tcx (BPF_LINK_CREATE with tcx_ingress, probed once). */
export function tcxSupported(): boolean {
  return attachTypeSupported(AttachType.tcx_ingress);
}

let xdpLinks: boolean | undefined;
/**
 * Whether this kernel has XDP links (5.9+). An XDP link cannot be probed
 * without attaching to a real interface, so this is the kernel's version,
 * read once.
 */
export function xdpLinksSupported(): boolean {
  xdpLinks ??= kernelVersionCode() >= (5 << 16) + (9 << 8);
  return xdpLinks;
}

/**
 * A tc program on an interface's ingress or egress: a tcx link (with the
 * order's placement) where the kernel has tcx, else a cls_bpf filter
 * through netlink (with the tc options); `via` forces either. Options the
 * chosen path cannot honour (a priority for tcx, a placement for classic
 * tc) are an INVALID_ARGUMENT, never ignored.
 */
export function attachTcAny(
  program: Program,
  ifindex: number,
  direction: 'ingress' | 'egress',
  options: MultiProgOrder & TcOptions & { via?: AttachVia } = {},
): Link | TcFilter {
  const via = checkVia(options.via);
  const { priority, handle, replace, via: _via, ...order } = options;
  const useLink = via === 'link' || (via === 'auto' && tcxSupported());
  const why = via === 'auto' ? (useLink ? ' (this kernel has tcx)' : ' (this kernel has no tcx)') : '';
  // What one path cannot honour is an error, never dropped: choose the path with `via` to be sure.
  const misplaced = useLink
    ? Object.entries({ priority, handle, replace }).filter(([, v]) => v !== undefined)
    : Object.entries(order).filter(([, v]) => v !== undefined && v !== false);
  if (misplaced.length > 0)
    throw new LoaderError(
      'INVALID_ARGUMENT',
      `${misplaced.map(([k]) => k).join(', ')} cannot be honoured through ${useLink ? 'tcx' : 'netlink (classic tc)'}${why}`,
    ).addContext(`program ${program.name}: attach tc/${String(direction)}`);
  if (useLink) return attachTcx(program, ifindex, direction, order);
  return attachTc(program, ifindex, direction, { priority, handle, replace });
}

/**
 * An XDP program on an interface: an XDP link where the kernel has them,
 * else IFLA_XDP through netlink; `via` forces either.
 */
export function attachXdpAny(program: Program, ifindex: number, options: { mode?: keyof typeof XdpMode; via?: AttachVia } = {}): Link | XdpNetlinkAttachment {
  const via = checkVia(options.via);
  if (via === 'link' || (via === 'auto' && xdpLinksSupported())) return attachXdp(program, ifindex, options.mode);
  return attachXdpNetlink(program, ifindex, { mode: options.mode });
}
