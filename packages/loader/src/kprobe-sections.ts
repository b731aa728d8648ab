/**
 * The kprobe family's sections, as libbpf reads them: `kprobe/func+0x10`,
 * `kretprobe/func`, `ksyscall/name`, `kretsyscall/name`,
 * `kprobe.multi/glob`, `kretprobe.multi/glob`, `kprobe.session/glob`
 * (parseKprobeSection, pure), and attaching a program by one of them.
 */
import type { Program } from './program.js';
import type { Link } from './link.js';
import { attachKprobe, attachKsyscall } from './kprobe.js';
import { attachKprobeMulti } from './kprobe-multi.js';
import { LoaderError } from './errors.js';

/** What a kprobe-family section asks for. */
export type KprobeSection =
  | { kind: 'kprobe'; func: string; offset: number; retprobe: boolean }
  | { kind: 'ksyscall'; syscall: string; retprobe: boolean }
  | { kind: 'multi'; pattern: string; retprobe: boolean; session: boolean };

const SINGLE = /^(kprobe|kretprobe)\/([A-Za-z0-9_.]+)(?:\+(0x[0-9a-fA-F]+|[0-9]+))?$/;
const SYSCALL = /^(ksyscall|kretsyscall)\/([a-z0-9_]+)$/;
const MULTI = /^(kprobe\.multi|kretprobe\.multi|kprobe\.session)\/(.+)$/;

/**
 * What a section of the kprobe family names: undefined for sections of
 * other families (uprobes, usdt); an ATTACH_TARGET error for one of the
 * family that names no target (SEC("kprobe"): attach it by hand) or one
 * that does not parse. Pure.
 */
export function parseKprobeSection(section: string): KprobeSection | undefined {
  const family = /^(kprobe|kretprobe|ksyscall|kretsyscall|kprobe\.multi|kretprobe\.multi|kprobe\.session)(\/|$)/.exec(section);
  if (!family) return undefined;
  let m = SINGLE.exec(section);
  if (m) {
    const retprobe = m[1] === 'kretprobe';
    const offset = m[3] === undefined ? 0 : Number(m[3]);
    if (retprobe && offset !== 0) throw new LoaderError('ATTACH_TARGET', `SEC("${section}"): a kretprobe takes no offset`);
    if (offset > 0x7fffffff) throw new LoaderError('ATTACH_TARGET', `SEC("${section}"): offset ${m[3]} is out of range`);
    return { kind: 'kprobe', func: m[2]!, offset, retprobe };
  }
  m = SYSCALL.exec(section);
  if (m) return { kind: 'ksyscall', syscall: m[2]!, retprobe: m[1] === 'kretsyscall' };
  m = MULTI.exec(section);
  if (m) return { kind: 'multi', pattern: m[2]!, retprobe: m[1] === 'kretprobe.multi', session: m[1] === 'kprobe.session' };
  const what = family[2] === '' ? 'names no target' : 'does not parse';
  throw new LoaderError('ATTACH_TARGET', `SEC("${section}") ${what}: attach it with attachKprobe, attachKsyscall or attachKprobeMulti`);
}

/** Attaches a program by its kprobe-family section (attach() calls this for kprobe programs that are not uprobes). */
export function attachKprobeSection(program: Program, section: string): Link {
  let s: KprobeSection | undefined;
  try {
    s = parseKprobeSection(section);
  } catch (e) {
    if (e instanceof LoaderError) e.addContext(`program ${program.name}`);
    throw e;
  }
  if (!s) throw new LoaderError('ATTACH_TARGET', `program ${program.name}: no automatic attach for SEC("${section}")`);
  switch (s.kind) {
    case 'kprobe':
      return attachKprobe(program, s.func, { retprobe: s.retprobe, ...(s.offset ? { offset: s.offset } : {}) });
    case 'ksyscall':
      return attachKsyscall(program, s.syscall, { retprobe: s.retprobe });
    case 'multi':
      return attachKprobeMulti(program, { pattern: s.pattern, retprobe: s.retprobe, session: s.session });
  }
}
