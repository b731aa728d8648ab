/**
 * Ordered cgroup programs (Linux 6.16+ keeps a cgroup hook's programs as a
 * multi-program list): attach before or after another program or link,
 * first, last, only at an expected revision, by link or BPF_PROG_ATTACH;
 * and a cgroup hook's list read back in run order.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { checkU32 } from './args.js';
import { LoaderError } from './errors.js';
import { listLinks } from './inventory.js';
import { LegacyAttachment, Link } from './link.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { multiProgPlacement, type MultiProgOrder } from './tcx.js';

const BPF_F_ALLOW_MULTI = 2;

/** Through BPF_PROG_ATTACH (with BPF_F_ALLOW_MULTI) instead of a link. */
export interface CgroupOrderOptions {
  legacy?: boolean;
}

/** The cgroup directory opened (a typed error when it cannot be), for `fn`, then closed. */
function openCgroup(cgroupPath: string, context: string): number {
  if (typeof cgroupPath !== 'string' || cgroupPath === '') throw new LoaderError('INVALID_ARGUMENT', `${context}: the cgroup path must be a non-empty string`);
  try {
    return openSync(cgroupPath, 'r');
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `${context}: cannot open the cgroup (${(e as Error).message})`, { cause: e });
  }
}

function withCgroup<T>(cgroupPath: string, context: string, fn: (fd: number) => T): T {
  const fd = openCgroup(cgroupPath, context);
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** A refusal of an ordered attach on a kernel that does not order cgroup programs says so. */
function explain(e: unknown, context: string, order: MultiProgOrder): unknown {
  const ordered = order.before || order.after || order.first || order.last || order.expectedRevision !== undefined;
  if (ordered && e instanceof SyscallError && e.errnoName === 'EINVAL') {
    return new SyscallError(
      e.syscall,
      e.errno,
      context,
      `${e.hint ?? e.errnoName}; ordering cgroup programs needs Linux 6.16 or later, and a BPF_PROG_ATTACH can be placed only beside programs attached the same way`,
      { cause: e },
    );
  }
  return e;
}

/**
 * A cgroup program at a place in the cgroup hook's list (last unless `order`
 * says where; see MultiProgOrder), as a link or, with `legacy`, through
 * BPF_PROG_ATTACH (closing the returned LegacyAttachment detaches it). A
 * stale `expectedRevision` is refused with ESTALE and changes nothing.
 */
export function attachCgroupOrdered(
  program: Program,
  cgroupPath: string,
  attachType: number,
  order: MultiProgOrder = {},
  options: CgroupOrderOptions = {},
): Link | LegacyAttachment {
  const context = `program ${program.name}: attach to cgroup ${cgroupPath}`;
  checkU32(attachType, 'attachType', context);
  if (order.expectedRevision !== undefined) checkU32(order.expectedRevision, 'expectedRevision', context);
  const { flags, relative } = multiProgPlacement(order);
  const progFd = program.fd; // CLOSED before the cgroup is opened
  const mprog = { relative, expectedRevision: order.expectedRevision ?? 0 };
  if (!options.legacy) {
    return withCgroup(cgroupPath, context, (cg) => {
      try {
        return new Link(sys.linkCreate({ progFd, target: cg, attachType, flags, cgroup: mprog }, context), `cgroup ${cgroupPath}`);
      } catch (e) {
        throw explain(e, context, order);
      }
    });
  }
  const cg = openCgroup(cgroupPath, context);
  try {
    sys.progAttach(cg, progFd, attachType, BPF_F_ALLOW_MULTI | flags, context, mprog);
  } catch (e) {
    closeSync(cg);
    throw explain(e, context, order);
  }
  return new LegacyAttachment(cg, progFd, attachType, `cgroup ${cgroupPath} (BPF_PROG_ATTACH)`);
}

/** What a cgroup hook runs (programs attached to this cgroup itself, not inherited ones), in order. */
export interface CgroupProgList {
  /** Program ids in run order, and the link holding each (0: attached with BPF_PROG_ATTACH). */
  programs: { progId: number; linkId: number }[];
  /** The list's revision (Linux 6.16+; 0 before): give it as `expectedRevision` to change the list only if it is still this one. */
  revision: number;
  /** BPF_F_ALLOW_MULTI / BPF_F_ALLOW_OVERRIDE as the hook was set up (0: nothing attached the legacy way). */
  attachFlags: number;
}

/**
 * BPF_PROG_QUERY on a cgroup v2 directory's hook `attachType`. The kernel
 * (6.18 too) fills no link ids for cgroup hooks: they are found among the
 * cgroup links of this cgroup (its id is the directory's inode number) and
 * hook, by program (a program is attached at most once per hook).
 */
export function queryCgroup(cgroupPath: string, attachType: number): CgroupProgList {
  const context = `query cgroup ${cgroupPath}`;
  checkU32(attachType, 'attachType', context);
  return withCgroup(cgroupPath, context, (cg) => {
    const r = sys.progQuery(cg, attachType, 0, context);
    let linkIds = r.linkIds;
    if (r.progIds.length > 0 && linkIds.every((id) => id === 0)) {
      const cgroupId = fstatSync(cg, { bigint: true }).ino;
      const byProg = new Map(
        listLinks()
          .filter((l) => l.cgroupId === cgroupId && l.attachType === attachType)
          .map((l) => [l.progId, l.id]),
      );
      linkIds = r.progIds.map((id) => byProg.get(id) ?? 0);
    }
    return { programs: r.progIds.map((progId, i) => ({ progId, linkId: linkIds[i] ?? 0 })), revision: r.revision, attachFlags: r.attachFlags };
  });
}
