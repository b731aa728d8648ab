/**
 * `tsbpf link list|show|detach` and `tsbpf btf list`: every BPF link in the
 * kernel with what it attaches to (like `bpftool link`), detaching one by
 * id, and every BTF object with the programs and maps that use it.
 */
import { linkFromId, linkInfo, listBtf, listLinks, listMaps, listPrograms, programInfo, type LinkInfo } from '@tsbpf/loader';
import { type CliIo } from '../io.js';
import { btfJson, linkJson, parseId, printJson } from './kernel-json.js';
import type { KernelListOptions } from './prog.js';

/** The program type bpftool names beside a tracing link. */
function progTypeOf(l: LinkInfo): string | undefined {
  if (l.typeName !== 'tracing') return undefined;
  try {
    return programInfo(l.progId).typeName;
  } catch {
    return undefined;
  }
}

/** `tsbpf link list`: every link (`bpftool link show`). */
export function linkList(io: CliIo, opts: KernelListOptions): void {
  const links = listLinks();
  if (opts.json)
    return printJson(
      io,
      links.map((l) => linkJson(l, progTypeOf(l))),
      opts.pretty,
    );
  for (const l of links) io.out(linkText(l));
}

/** `tsbpf link show ID`. */
export function linkShow(io: CliIo, words: string[], opts: KernelListOptions): void {
  const l = linkInfo(parseId(words, 'link show'));
  if (opts.json) return printJson(io, linkJson(l, progTypeOf(l)), opts.pretty);
  io.out(linkText(l));
}

function linkText(l: LinkInfo): string {
  const fields = Object.entries(linkJson(l, progTypeOf(l))).filter(([k]) => k !== 'id' && k !== 'type' && k !== 'prog_id');
  return `${l.id}: ${l.typeName}  prog ${l.progId}\n${fields.length ? `\t${fields.map(([k, v]) => `${k} ${String(v)}`).join('  ')}\n` : ''}`;
}

/** `tsbpf link detach ID`: BPF_LINK_DETACH (the program leaves its hook even while the link is pinned or held). */
export function linkDetach(io: CliIo, words: string[]): void {
  const id = parseId(words, 'link detach');
  using link = linkFromId(id);
  link.detach();
  io.out(`link id ${id}: detached\n`);
}

/** `tsbpf btf list`: every BTF object and who uses it (`bpftool btf list`). */
export function btfList(io: CliIo, opts: KernelListOptions): void {
  const progs = new Map<number, number[]>();
  const maps = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, btf: number, id: number) => {
    if (btf !== 0) m.set(btf, [...(m.get(btf) ?? []), id]);
  };
  for (const p of listPrograms()) add(progs, p.btfId, p.id);
  for (const m of listMaps()) add(maps, m.btfId, m.id);
  const all = listBtf().map((b) => btfJson(b, progs.get(b.id) ?? [], maps.get(b.id) ?? []));
  if (opts.json) return printJson(io, all, opts.pretty);
  for (const b of all) {
    const used = [
      (b.prog_ids as number[]).length ? `prog_ids ${(b.prog_ids as number[]).join(',')}` : '',
      (b.map_ids as number[]).length ? `map_ids ${(b.map_ids as number[]).join(',')}` : '',
    ].filter(Boolean);
    io.out(
      `${String(b.id)}: size ${String(b.size)}B${b.name ? `  name ${String(b.name)}` : ''}${b.kernel ? '  kernel' : ''}${used.length ? `  ${used.join('  ')}` : ''}\n`,
    );
  }
}
