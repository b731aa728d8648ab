/**
 * The real inputs the fuzz suite mutates: every valid fixture object, the
 * cilium/ebpf testdata objects where the peer corpus is already on this
 * machine (Go's module cache; never fetched here), each object's .BTF
 * section as raw BTF, and the first types of this kernel's vmlinux BTF cut
 * into a small blob of their own. Each comes with the fields worth
 * corrupting (see fields.ts), found once.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allFixtures, readFixture } from '@tsbpf/fixtures';
import { btfFields, btfRecords, elfFields, elfSection, type Field } from './fields.js';

export interface Seed {
  readonly name: string;
  readonly kind: 'object' | 'btf';
  readonly bytes: Uint8Array;
  readonly fields: readonly Field[];
}

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The cilium/ebpf testdata objects, if the module test/peers/cilium pins is in Go's module cache. */
export function peerObjects(): string[] {
  const goMod = join(repo, 'test', 'peers', 'cilium', 'go.mod');
  if (!existsSync(goMod)) return [];
  const version = /github\.com\/cilium\/ebpf (v\S+)/.exec(readFileSync(goMod, 'utf8'))?.[1];
  const dir = join(process.env.GOMODCACHE || join(homedir(), 'go', 'pkg', 'mod'), 'github.com', 'cilium', `ebpf@${version}`);
  if (!version || !existsSync(dir)) return [];
  return ['testdata', 'btf/testdata'].flatMap((sub) =>
    existsSync(join(dir, sub))
      ? readdirSync(join(dir, sub))
          .filter((f) => f.endsWith('.elf'))
          .map((f) => join(dir, sub, f))
      : [],
  );
}

/** The first `count` types of raw BTF, with the strings they name: a blob of real kernel types, small enough to mutate. */
export function firstTypes(raw: Uint8Array, count: number): Uint8Array {
  const { little, records } = btfRecords(raw);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const hdrLen = v.getUint32(4, little);
  const typeOff = v.getUint32(8, little);
  const strOff = v.getUint32(16, little);
  const strLen = v.getUint32(20, little);
  const kept = records.slice(0, count);
  // Offsets in records are the blob's own.
  const types = raw.subarray(hdrLen + typeOff, kept.at(-1)?.end ?? hdrLen + typeOff);
  // The strings up to the last one these types name (the rest would only make every case slower).
  let last = 0;
  for (const rec of kept) for (const at of rec.names) last = Math.max(last, v.getUint32(at, little));
  const all = raw.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  const nul = all.indexOf(0, last);
  const strings = all.subarray(0, nul < 0 ? all.length : nul + 1);
  const out = new Uint8Array(24 + types.length + strings.length);
  out.set(raw.subarray(0, 4));
  const w = new DataView(out.buffer);
  [24, 0, types.length, types.length, strings.length].forEach((x, i) => w.setUint32(4 + 4 * i, x, little));
  out.set(types, 24);
  out.set(strings, 24 + types.length);
  // References to the types left out point at the first int instead, so that the blob stands alone.
  const int = kept.find((r) => r.kind === 'int')?.id ?? 0;
  const refs = /type reference|member type|param type|array type|array index type|datasec var type/;
  for (const f of btfFields(out)) {
    if (refs.test(f.label) && w.getUint32(f.at, little) > kept.length) w.setUint32(f.at, int, little);
  }
  return out;
}

/** How many of vmlinux's types the kernel seed keeps. */
const VMLINUX_TYPES = 400;

let cache: Seed[] | undefined;

/** Every seed: objects (fixtures, then the peer corpus), their .BTF, vmlinux's first types. */
export function seeds(): Seed[] {
  if (cache) return cache;
  const objects: [string, Uint8Array][] = [
    ...allFixtures()
      .filter((f) => !f.invalid)
      .map((f): [string, Uint8Array] => [`fixture ${f.name}`, readFixture(f.name)]),
    ...peerObjects().map((p): [string, Uint8Array] => [`cilium/ebpf ${p.split('/ebpf@')[1]}`, new Uint8Array(readFileSync(p))]),
  ];
  const out: Seed[] = [];
  for (const [name, bytes] of objects) {
    out.push({ name, kind: 'object', bytes, fields: elfFields(bytes) });
    const btf = elfSection(bytes, '.BTF');
    if (btf && btf.length >= 24) out.push({ name: `${name} .BTF`, kind: 'btf', bytes: btf, fields: btfFields(btf) });
  }
  try {
    const vmlinux = firstTypes(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')), VMLINUX_TYPES);
    out.push({ name: `vmlinux's first ${VMLINUX_TYPES} types`, kind: 'btf', bytes: vmlinux, fields: btfFields(vmlinux) });
  } catch {
    // No kernel BTF on this machine: the objects' BTF stands in.
  }
  cache = out;
  return out;
}
