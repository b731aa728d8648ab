/**
 * The bpf() commands that reach BPF objects by their kernel id: walk the
 * ids of programs, maps, BTF objects and links (BPF_*_GET_NEXT_ID), open
 * one (BPF_*_GET_FD_BY_ID); and BPF_ENABLE_STATS, whose fd keeps the
 * kernel's run-time statistics on.
 */
import { begin, call, get, ownFd, put } from './attr.js';
import { enableStatsAttr as S, idAttr as I, type BpfCmdName } from './layouts.generated.js';

/** The kinds of BPF object that have ids. */
export type ObjectKind = 'prog' | 'map' | 'btf' | 'link';

const NEXT: Record<ObjectKind, BpfCmdName> = { prog: 'PROG_GET_NEXT_ID', map: 'MAP_GET_NEXT_ID', btf: 'BTF_GET_NEXT_ID', link: 'LINK_GET_NEXT_ID' };
const BY_ID: Record<ObjectKind, BpfCmdName> = { prog: 'PROG_GET_FD_BY_ID', map: 'MAP_GET_FD_BY_ID', btf: 'BTF_GET_FD_BY_ID', link: 'LINK_GET_FD_BY_ID' };
const ID_FIELD = { prog: I.prog_id, map: I.map_id, btf: I.btf_id, link: I.link_id } as const;

const ENOENT = 2;

/** BPF_*_GET_NEXT_ID: the first id above `start` of that kind, or undefined when there is none. */
export function nextId(kind: ObjectKind, start: number): number | undefined {
  begin(NEXT[kind]);
  put(I.start_id, start);
  const r = call(NEXT[kind], undefined, [ENOENT]);
  return r < 0 ? undefined : get(I.next_id);
}

/** BPF_*_GET_FD_BY_ID: an fd for the object with that id (ENOENT when it is gone); `openFlags` BPF_F_RDONLY/WRONLY for maps. */
export function fdById(kind: ObjectKind, id: number, context?: string, openFlags = 0): number {
  begin(BY_ID[kind]);
  put(ID_FIELD[kind], id);
  put(I.open_flags, openFlags);
  return ownFd(call(BY_ID[kind], context));
}

/** BPF_ENABLE_STATS: statistics of `type` (0, BPF_STATS_RUN_TIME) stay on while the returned fd is open. */
export function enableStats(type: number): number {
  begin('ENABLE_STATS');
  put(S.type, type);
  return ownFd(call('ENABLE_STATS'));
}
