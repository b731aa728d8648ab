/**
 * What tsbpf's parser and cilium/ebpf's make of one object, compared field
 * by field: the disagreements as short sentences (`prog xdp_prog: section
 * "xdp" vs "xdp.frags"`), empty when they agree. Pure: both sides' results
 * come in as data.
 */
import { decodeInstructions, type CollectionSpec, type MapSpec, type ProgramRelocation } from '@tsbpf/object';
import type { CiliumInstruction, CiliumMap, CiliumSpec } from './cilium-peer.js';

/** What a relocation points at, in cilium's words (its instructions' `Reference()`). */
function target(r: ProgramRelocation): string {
  switch (r.kind) {
    case 'map':
    case 'map_value':
      return r.map;
    case 'call':
    case 'func':
      return r.target;
    case 'extern':
      return r.extern;
  }
}

function compareMap(ours: MapSpec, theirs: CiliumMap, at: string, out: string[]): void {
  const fields: [string, number | bigint, number | bigint][] = [
    ['type', ours.type, theirs.type],
    ['keySize', ours.keySize, theirs.keySize],
    ['valueSize', ours.valueSize, theirs.valueSize],
    ['maxEntries', ours.maxEntries, theirs.maxEntries],
    ['flags', ours.flags, theirs.flags],
    ['pinning', ours.pinning, theirs.pinning],
    ['mapExtra', ours.mapExtra, BigInt(theirs.mapExtra)],
  ];
  for (const [name, a, b] of fields) if (a !== b) out.push(`${at}: ${name} ${a} vs ${b}`);
  if (!!ours.innerMap !== !!theirs.innerMap) out.push(`${at}: inner map ${ours.innerMap ? 'only in tsbpf' : 'only in cilium'}`);
  else if (ours.innerMap && theirs.innerMap) compareMap(ours.innerMap, theirs.innerMap, `${at} inner map`, out);
}

function compareInstructions(ours: CollectionSpec, name: string, theirs: readonly CiliumInstruction[], out: string[]): void {
  const p = ours.programs[name]!;
  const decoded = decodeInstructions(p.instructions, ours.byteOrder);
  const refs = new Map(p.relocations.map((r) => [r.insn, target(r)]));
  for (let i = 0; i < decoded.length; i++) {
    const a = decoded[i]!;
    const b = theirs[i];
    const at = `prog ${name}: insn ${a.slot}`;
    if (!b) {
      out.push(`${at}: only in tsbpf`);
      return;
    }
    if (a.opcode !== b.op || a.dst !== b.dst || a.offset !== b.off) {
      out.push(`${at}: op/dst/off ${a.opcode}/${a.dst}/${a.offset} vs ${b.op}/${b.dst}/${b.off}`);
      return;
    }
    const ref = refs.get(a.slot);
    if ((ref ?? '') !== (b.ref ?? '')) {
      out.push(`${at}: refers to ${ref ?? 'nothing'} vs ${b.ref ?? 'nothing'}`);
      return;
    }
    // A reference's src and immediate are the loader's to fill in: each side keeps its own placeholder.
    if (ref !== undefined) continue;
    const imm = a.imm64 !== undefined ? BigInt.asIntN(64, a.imm64) : BigInt(a.imm);
    if (a.src !== b.src || imm !== BigInt(b.imm)) {
      out.push(`${at}: src/imm ${a.src}/${imm} vs ${b.src}/${b.imm}`);
      return;
    }
  }
}

/** The disagreements between our spec (or the error we threw) and cilium's. */
export function compareWithCilium(ours: CollectionSpec | Error, theirs: CiliumSpec): string[] {
  if (ours instanceof Error || theirs.error) {
    if (ours instanceof Error && theirs.error) return [];
    return [
      ours instanceof Error ? `open: tsbpf refuses (${(ours as { code?: string }).code ?? ours.name}), cilium opens` : `open: cilium refuses, tsbpf opens`,
    ];
  }
  const out: string[] = [];
  if (ours.byteOrder !== theirs.byteOrder) out.push(`byte order ${ours.byteOrder} vs ${theirs.byteOrder}`);
  const programs = new Map(theirs.programs.map((p) => [p.name, p]));
  for (const [name, p] of Object.entries(ours.programs)) {
    const q = programs.get(name);
    programs.delete(name);
    if (!q) {
      out.push(`prog ${name}: only in tsbpf`);
      continue;
    }
    const at = `prog ${name}`;
    if (p.sectionName !== q.sectionName) out.push(`${at}: section ${p.sectionName} vs ${q.sectionName}`);
    if (p.type !== q.type) out.push(`${at}: type ${p.type} (${p.typeName}) vs ${q.type}`);
    // cilium says 0 (its AttachNone) where a program has no attach type.
    if ((p.attachType ?? 0) !== q.attachType) out.push(`${at}: attach type ${p.attachType} (${p.attachTypeName}) vs ${q.attachType}`);
    if (p.instructions.length / 8 !== q.ownSlots) out.push(`${at}: ${p.instructions.length / 8} slots vs ${q.ownSlots}`);
    else compareInstructions(ours, name, q.instructions, out);
  }
  for (const name of programs.keys()) out.push(`prog ${name}: only in cilium`);
  const maps = new Map(theirs.maps.map((m) => [m.name, m]));
  for (const [name, m] of Object.entries(ours.maps)) {
    const q = maps.get(name);
    maps.delete(name);
    if (!q) out.push(`map ${name}: only in tsbpf`);
    else compareMap(m, q, `map ${name}`, out);
  }
  for (const name of maps.keys()) out.push(`map ${name}: only in cilium`);
  return out;
}
