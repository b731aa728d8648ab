/**
 * The maps a pinned program's instructions name as the verifier left them
 * (dead branches removed), for the tests that show the fast path off
 * compiles the `local_pods` lookup out: the map of each 64-bit immediate load
 * (the kernel dumps it with the map's id), by name.
 */
import { mapInfo, Program, programInfo } from '@tsbpf/loader';

const LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW: two slots
const PSEUDO_MAP_FD = 1;
const PSEUDO_MAP_VALUE = 2;

export function mapsInCode(programPin: string): Set<string> {
  using prog = Program.fromPin(programPin);
  const info = programInfo(prog.id(), { xlated: true });
  const code = info.code.xlated!;
  const names = new Map(info.mapIds.map((id) => [id, mapInfo(id).name]));
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  const named = new Set<string>();
  for (let at = 0; at + 16 <= code.length; at += 8) {
    if (view.getUint8(at) !== LD_IMM64) continue;
    const src = view.getUint8(at + 1) >> 4; // little-endian: dst in the low nibble
    const id = view.getInt32(at + 4, true);
    if (src === PSEUDO_MAP_FD || src === PSEUDO_MAP_VALUE) named.add(names.get(id) ?? `id ${id}`);
    at += 8;
  }
  return named;
}
