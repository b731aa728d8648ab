/**
 * BPF_PROG_QUERY: what is attached to a hook (an interface's tcx or XDP
 * hook, a cgroup's), in the order the kernel runs it, with the links that
 * hold each program and the list's revision.
 */
import { begin, call, get, put } from './attr.js';
import { scratch } from './native-pools.js';
import { getField } from './fields.js';
import { progQueryAttr as Q } from './layouts.generated.js';

export interface ProgQueryResult {
  /** The hook's attach flags (cgroup hooks: BPF_F_ALLOW_MULTI / OVERRIDE; 0 for multi-program hooks). */
  attachFlags: number;
  /** Program ids in run order. */
  progIds: number[];
  /** For each program, the id of the link that holds it (0: attached without a link). */
  linkIds: number[];
  /** The list's revision (multi-program hooks such as tcx; 0 elsewhere): pass it as `expectedRevision` to change the list only if nobody else did. */
  revision: number;
}

/** The kernel refuses a query whose arrays are too small with ENOSPC: it is asked again with the new count. */
const ENOSPC = 28;

/** BPF_PROG_QUERY on `target` (an fd, or an ifindex for tcx and XDP) for `attachType`. */
export function progQuery(target: number, attachType: number, queryFlags = 0, context?: string): ProgQueryResult {
  // First the count alone, then the arrays; a program attached in between makes the second call fail with ENOSPC: ask again.
  for (let attempt = 0; ; attempt++) {
    begin('PROG_QUERY');
    put(Q.target_fd, target);
    put(Q.attach_type, attachType);
    put(Q.query_flags, queryFlags);
    call('PROG_QUERY', context);
    const count = get(Q.prog_cnt);
    if (count === 0) return { attachFlags: get(Q.attach_flags), progIds: [], linkIds: [], revision: get(Q.revision) };
    const mark = scratch.begin();
    try {
      const progs = scratch.zeroed(4 * count);
      const links = scratch.zeroed(4 * count);
      begin('PROG_QUERY');
      put(Q.target_fd, target);
      put(Q.attach_type, attachType);
      put(Q.query_flags, queryFlags);
      put(Q.prog_ids, progs.address);
      put(Q.link_ids, links.address);
      put(Q.prog_cnt, count);
      const r = call('PROG_QUERY', context, attempt < 8 ? [ENOSPC] : []);
      if (r < 0) continue;
      const n = get(Q.prog_cnt);
      const read = (m: { bytes: Uint8Array }) => {
        const view = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
        return Array.from({ length: Math.min(n, count) }, (_, i) => getField(view, { offset: 4 * i, size: 4 }));
      };
      return { attachFlags: get(Q.attach_flags), progIds: read(progs), linkIds: read(links), revision: get(Q.revision) };
    } finally {
      scratch.end(mark);
    }
  }
}
