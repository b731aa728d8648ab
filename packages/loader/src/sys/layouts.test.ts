import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Btf } from '@tsbpf/object';
import { renderKernelLayouts, runningKernelName } from '../../../../scripts/gen-kernel-layouts.mjs';
import { describeNeeds, hasFile, repoRoot } from '../../../../test/support/env.js';
import * as layouts from './layouts.generated.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const GENERATED = join(repoRoot, 'packages/loader/src/sys/layouts.generated.ts');

/** Where each generated layout lies: the C type, and the member path its fields are under (C's own: anonymous members are looked through). */
const WHERE: Record<string, [name: string, kind: 'struct' | 'union', prefix: string]> = {
  mapCreateAttr: ['bpf_attr', 'union', ''],
  mapElemAttr: ['bpf_attr', 'union', ''],
  mapBatchAttr: ['bpf_attr', 'union', 'batch.'],
  progLoadAttr: ['bpf_attr', 'union', ''],
  objAttr: ['bpf_attr', 'union', ''],
  progAttachAttr: ['bpf_attr', 'union', ''],
  progTestRunAttr: ['bpf_attr', 'union', 'test.'],
  objInfoAttr: ['bpf_attr', 'union', 'info.'],
  rawTracepointOpenAttr: ['bpf_attr', 'union', 'raw_tracepoint.'],
  btfLoadAttr: ['bpf_attr', 'union', ''],
  linkCreateAttr: ['bpf_attr', 'union', 'link_create.'],
  linkDetachAttr: ['bpf_attr', 'union', 'link_detach.'],
  iterCreateAttr: ['bpf_attr', 'union', 'iter_create.'],
  iterLinkInfo: ['bpf_iter_link_info', 'union', ''],
  linkUpdateAttr: ['bpf_attr', 'union', 'link_update.'],
  progQueryAttr: ['bpf_attr', 'union', 'query.'],
  progBindMapAttr: ['bpf_attr', 'union', 'prog_bind_map.'],
  idAttr: ['bpf_attr', 'union', ''],
  enableStatsAttr: ['bpf_attr', 'union', 'enable_stats.'],
  tokenCreateAttr: ['bpf_attr', 'union', 'token_create.'],
  progInfo: ['bpf_prog_info', 'struct', ''],
  mapInfo: ['bpf_map_info', 'struct', ''],
  linkInfo: ['bpf_link_info', 'struct', ''],
  btfInfo: ['bpf_btf_info', 'struct', ''],
  perfEventAttr: ['perf_event_attr', 'struct', ''],
  perfEventMmapPage: ['perf_event_mmap_page', 'struct', ''],
  perfEventHeader: ['perf_event_header', 'struct', ''],
  epollEvent: ['epoll_event', 'struct', ''],
};

/**
 * offsetof and sizeof of a member path, as a C compiler resolves `((T *)0)->a.b`: names in anonymous members count as the parent's.
 * A bit-field is its type's aligned unit that holds it, with its first bit and width in that unit.
 */
function offsetOf(btf: Btf, typeId: number, path: string): { offset: number; size: number; bit?: number; bits?: number } | undefined {
  let type = typeId;
  let bitOffset = 0;
  let bits = 0;
  for (const name of path.split('.')) {
    const found = memberOf(btf, type, name);
    if (!found) return undefined;
    bitOffset += found.bitOffset;
    bits = found.bits;
    type = found.type;
  }
  const size = btf.sizeof(type);
  if (bits === 0) return { offset: bitOffset / 8, size };
  const unit = bitOffset - (bitOffset % (size * 8));
  return { offset: unit / 8, size, bit: bitOffset - unit, bits };
}

function memberOf(btf: Btf, typeId: number, name: string): { bitOffset: number; bits: number; type: number } | undefined {
  for (const m of btf.members(typeId)) {
    if (m.name === name) return { bitOffset: m.bitOffset, bits: m.bitfieldSize, type: m.type };
    const kind = btf.resolve(m.type).kind;
    if (m.name === '' && (kind === 'struct' || kind === 'union')) {
      const inner = memberOf(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: m.bitOffset + inner.bitOffset };
    }
  }
  return undefined;
}

type Layout = Record<string, { offset: number; size: number }>;
const isLayout = (v: unknown): v is Layout =>
  typeof v === 'object' && v !== null && Object.values(v).every((f) => typeof f === 'object' && f !== null && 'offset' in f && 'size' in f);
const generated = Object.entries(layouts as Record<string, unknown>).flatMap(([name, v]) => (isLayout(v) ? [[name, v] as const] : []));

describeNeeds([hasFile(VMLINUX)], "the generated kernel layouts against the running kernel's BTF", () => {
  const btf = Btf.parse(new Uint8Array(readFileSync(VMLINUX)));

  it('every field has the offset and size the kernel gives it', () => {
    expect(generated.map(([name]) => name).sort()).toEqual(Object.keys(WHERE).sort());
    for (const [name, layout] of generated) {
      const [typeName, kind, prefix] = WHERE[name]!;
      const type = btf.findByName(typeName, kind);
      expect(type, `${kind} ${typeName}`).toBeDefined();
      for (const [field, at] of Object.entries(layout)) {
        expect(offsetOf(btf, type!.id, prefix + field), `${name}.${field}`).toEqual(at);
      }
    }
  });

  it("the command numbers are enum bpf_cmd's; each attr size is offsetofend of the field its line names", () => {
    const cmds = btf.findByName('bpf_cmd', 'enum')!;
    for (const [cmd, n] of Object.entries(layouts.bpfCmd)) expect(cmds.values.find((v) => v.name === `BPF_${cmd}`)?.value, cmd).toBe(n);
    const attr = btf.findByName('bpf_attr', 'union')!;
    const text = readFileSync(GENERATED, 'utf8');
    for (const [cmd, size] of Object.entries(layouts.attrSize)) {
      // `  MAP_CREATE: 72, // map_extra` or `  LINK_CREATE: 64, // link_create (all of it)`
      const named = new RegExp(`^  ${cmd}: ${size}, // ([\\w.]+)( \\(all of it\\))?$`, 'm').exec(text);
      expect(named, cmd).not.toBeNull();
      const field = offsetOf(btf, attr.id, named![1]!);
      expect(field && field.offset + field.size, `${cmd}: ${named![1]}`).toBe(size);
    }
    expect(layouts.epollEventSize).toBe(btf.findByName('epoll_event', 'struct')!.size);
    const perfAttr = offsetOf(btf, btf.findByName('perf_event_attr', 'struct')!.id, 'config2')!;
    expect(layouts.perfEventAttrSize).toBe(perfAttr.offset + perfAttr.size);
  });

  it('the generator, run again against this kernel, writes the same file (but for fields a newer kernel adds)', () => {
    {
      const fresh = renderKernelLayouts(btf, runningKernelName()).split('\n');
      const checkedIn = readFileSync(GENERATED, 'utf8').split('\n');
      if (checkedIn[0] === fresh[0]) {
        expect(fresh).toEqual(checkedIn); // the kernel it was generated from: exactly
        return;
      }
      // Another kernel: the same fields at the same places; only a whole member libbpf passes (link_create) may have grown.
      expect(fresh.length).toBe(checkedIn.length);
      for (let i = 1; i < fresh.length; i++) {
        if (fresh[i] === checkedIn[i]) continue;
        const grown = /^ {2}(\w+): (\d+), \/\/ .*\(all of it\)$/;
        const [now, then] = [grown.exec(fresh[i]!), grown.exec(checkedIn[i]!)];
        expect(now && then && now[1] === then[1] && Number(now[2]) >= Number(then[2]), `line ${i + 1}: ${checkedIn[i]} → ${fresh[i]}`).toBe(true);
      }
    }
  });
});
