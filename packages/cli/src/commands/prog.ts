/**
 * `tsbpf prog list|show|dump xlated|dump jited`: every program loaded in the
 * kernel, whoever loaded it (like `bpftool prog`), with its statistics; its
 * instructions as the verifier left them (disassembled, with source lines
 * from its BTF) or its machine code.
 */
import { writeFileSync } from 'node:fs';
import { btfFromId, listPrograms, programInfo, type ProgramCode, type ProgramInfo } from '@tsbpf/loader';
import { formatInstructions, type Btf } from '@tsbpf/object';
import { CliError, type CliIo } from '../io.js';
import { bootEpochNs, fullProgramName, loadedAt, parseId, printJson, programJson } from './kernel-json.js';

export interface KernelListOptions {
  json?: boolean;
  pretty?: boolean;
}

/** A program's name, completed from BTF when the kernel cut it at 15 bytes. */
function nameOf(p: ProgramInfo): string {
  if (p.name.length < 15) return p.name;
  try {
    return fullProgramName(p, programInfo(p.id, { debugInfo: true }).code.funcInfo);
  } catch {
    return p.name;
  }
}

/** `tsbpf prog list`: every program (`bpftool prog show`). */
export function progList(io: CliIo, opts: KernelListOptions): void {
  const boot = bootEpochNs();
  const progs = listPrograms();
  if (opts.json)
    return printJson(
      io,
      progs.map((p) => programJson(p, nameOf(p), boot)),
      opts.pretty,
    );
  for (const p of progs) io.out(programText(p, nameOf(p), boot));
}

/** `tsbpf prog show ID`. */
export function progShow(io: CliIo, words: string[], opts: KernelListOptions): void {
  const id = parseId(words, 'prog show');
  const p = programInfo(id, { debugInfo: true });
  const name = fullProgramName(p, p.code.funcInfo);
  if (opts.json) return printJson(io, programJson(p, name), opts.pretty);
  io.out(programText(p, name, bootEpochNs()));
}

function programText(p: ProgramInfo, name: string, boot: bigint): string {
  const when = new Date(loadedAt(p.loadTimeNs, boot) * 1000).toISOString().replace('.000Z', 'Z');
  let s = `${p.id}: ${p.typeName}  name ${name || '(none)'}  tag ${p.tag}${p.gplCompatible ? '  gpl' : ''}\n`;
  s += `\tloaded_at ${when}  uid ${p.uid}\n`;
  s += `\txlated ${p.xlatedBytes}B  ${p.jitedBytes ? `jited ${p.jitedBytes}B` : 'not jited'}`;
  if (p.memlock !== undefined) s += `  memlock ${p.memlock}B`;
  if (p.mapIds.length) s += `  map_ids ${p.mapIds.join(',')}`;
  s += '\n';
  if (p.btfId) s += `\tbtf_id ${p.btfId}\n`;
  s += `\tverified_insns ${p.verifiedInstructions}  run_time_ns ${p.runTimeNs}  run_cnt ${p.runCount}`;
  if (p.recursionMisses) s += `  recursion_misses ${p.recursionMisses}`;
  return `${s}\n`;
}

/** `tsbpf prog dump xlated ID [-o FILE] [--json]`: the instructions the kernel runs (the raw image to FILE, as `bpftool ... file`). */
export function progDumpXlated(io: CliIo, words: string[], opts: { output?: string; json?: boolean }): void {
  const id = parseId(words, 'prog dump xlated');
  const p = programInfo(id, { xlated: true, debugInfo: true });
  const xlated = p.code.xlated ?? new Uint8Array(0);
  if (xlated.length === 0) throw new CliError(`program id ${id}: the kernel gives no instructions (bpf_dump_raw_ok: kptr_restrict?)`);
  if (opts.output !== undefined) return writeOutput(opts.output, xlated);
  let btf: Btf | undefined;
  try {
    btf = p.btfId ? btfFromId(p.btfId) : undefined;
  } catch {
    btf = undefined;
  }
  const lineInfo = btf ? kernelLineInfo(p.code, btf) : [];
  const text = formatInstructions(xlated, { byteOrder: 'little', lineInfo });
  if (opts.json) {
    const lines = text.split('\n').filter((l) => /^\s*\d+: /.test(l));
    return printJson(io, { id, name: p.name, bytes: xlated.length, instructions: lines.map((l) => l.replace(/^\s*\d+: /, '')) });
  }
  io.out(`${p.name || `prog ${id}`}:\n${text}`);
}

/** `tsbpf prog dump jited ID [-o FILE] [--json]`: the machine code, per function (with its kernel address), as hex. */
export function progDumpJited(io: CliIo, words: string[], opts: { output?: string; json?: boolean }): void {
  const id = parseId(words, 'prog dump jited');
  const p = programInfo(id, { jited: true });
  const image = p.code.jited ?? new Uint8Array(0);
  if (image.length === 0) throw new CliError(`program id ${id}: no machine code (not jited, or bpf_dump_raw_ok refused)`);
  if (opts.output !== undefined) return writeOutput(opts.output, image);
  const lens = p.code.jitedFuncLens?.length ? p.code.jitedFuncLens : [image.length];
  const syms = p.code.jitedKsyms ?? [];
  const funcs: { address: string; bytes: string }[] = [];
  let at = 0;
  lens.forEach((len, i) => {
    funcs.push({ address: syms[i] === undefined ? '' : `0x${syms[i]!.toString(16)}`, bytes: hex(image.subarray(at, at + len)) });
    at += len;
  });
  if (opts.json) return printJson(io, { id, name: p.name, bytes: image.length, functions: funcs });
  for (const f of funcs) {
    io.out(`${f.address || p.name}:\n`);
    for (let i = 0; i < f.bytes.length; i += 32)
      io.out(
        `  ${(i / 2).toString(16).padStart(4, '0')}: ${f.bytes
          .slice(i, i + 32)
          .replace(/(..)/g, '$1 ')
          .trimEnd()}\n`,
      );
  }
}

/** The kernel's bpf_line_info records (insn_off, file_name_off, line_off, line_col) as formatInstructions' source lines. */
function kernelLineInfo(code: ProgramCode, btf: Btf): { insn: number; lineText: string; fileName: string; line: number }[] {
  const bytes = code.lineInfo ?? new Uint8Array(0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let i = 0; i + 16 <= bytes.length; i += 16) {
    try {
      out.push({
        insn: v.getUint32(i, true),
        fileName: btf.string(v.getUint32(i + 4, true)),
        lineText: btf.string(v.getUint32(i + 8, true)),
        line: v.getUint32(i + 12, true) >>> 10,
      });
    } catch {
      // A record naming a string the BTF does not have: left out.
    }
  }
  return out;
}

function writeOutput(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw CliError.io('OUTPUT_UNWRITABLE', path, e);
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
