/**
 * Programs attached to a network namespace: sk_lookup (which socket takes a
 * new connection or datagram) and flow_dissector (how packets are parsed
 * into flows), each through a BPF link on the namespace's fd.
 */
import { AttachType, ProgramType } from '@tsbpf/object';
import { closeSync, openSync } from 'node:fs';
import { LoaderError } from './errors.js';
import { Link } from './link.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';

/** The attach type of each program type that attaches to a namespace. */
const NETNS_ATTACH: Record<number, number> = {
  [ProgramType.sk_lookup]: AttachType.sk_lookup,
  [ProgramType.flow_dissector]: AttachType.flow_dissector,
};

/**
 * An sk_lookup or flow_dissector program on a network namespace, given as a
 * path (`/var/run/netns/NAME`, `/proc/PID/ns/net`) or an open fd. The link
 * holds the namespace; closing it detaches. Several sk_lookup programs may
 * share a namespace (they run in attach order); flow_dissector takes one.
 */
export function attachNetns(program: Program, netns: string | number): Link {
  const attachType = NETNS_ATTACH[program.type];
  if (attachType === undefined) {
    throw new LoaderError('INVALID_ARGUMENT', `program ${program.name}: only sk_lookup and flow_dissector programs attach to a network namespace`);
  }
  const where = typeof netns === 'number' ? `netns fd ${netns}` : `netns ${netns}`;
  const fd = typeof netns === 'number' ? netns : openNetns(netns, program.name);
  try {
    return new Link(sys.linkCreate({ progFd: program.fd, target: fd, attachType }, `program ${program.name}: attach to ${where}`), where);
  } finally {
    if (typeof netns !== 'number') closeSync(fd); // the link holds the namespace itself
  }
}

function openNetns(path: string, program: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot open network namespace ${path}: ${(e as Error).message}`, { cause: e }).addContext(`program ${program}`);
  }
}

/** What a namespace's sk_lookup or flow_dissector hook holds, in run order (BPF_PROG_QUERY). */
export function queryNetns(netns: string, kind: 'sk_lookup' | 'flow_dissector'): { progIds: number[] } {
  const fd = openNetns(netns, kind);
  try {
    return { progIds: sys.progQuery(fd, AttachType[kind], 0, `query ${kind} of netns ${netns}`).progIds };
  } finally {
    closeSync(fd);
  }
}
