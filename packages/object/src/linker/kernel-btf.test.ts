import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCollectionSpec } from '../collection-spec.js';
import { ObjectParseError } from '../errors.js';
import { btfForKernel } from './kernel-btf.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../fixtures/out/${name}`, import.meta.url)));

/**
 * btfForKernel's output for every fixture with BTF (SHA-256, first 16 hex
 * digits), as the full walk over decoded types produced it before the plain
 * path (raw records, for objects without .ksyms, .kconfig or hidden
 * subprograms) was added: both paths must give these bytes.
 */
const DIGESTS: Record<string, string> = {
  'btf_kinds.bpf.o': '04674bd02dd3ea3f',
  'btf_kinds.eb.bpf.o': '985c2b7984527d41',
  'core.bpf.o': '21aa9b502d446dc6',
  'externs.bpf.o': '5006d77de64fea6e',
  'externs_weak.bpf.o': '5174d3b104db6b54',
  'global_data.bpf.o': '0a787ba096c89a92',
  'ksyms_typeless.bpf.o': 'c63d4736c31442da',
  'maps_btf.bpf.o': 'e724353005303510',
  'maps_btf.eb.bpf.o': '861a1e0560e9a466',
  'maps_legacy.bpf.o': 'e4229e5ef2a5510a',
  'metadata.bpf.o': '4b9381f4737f8a7f',
  'minimal.bpf.o': 'c70eb2b27c430c2b',
  'minimal.eb.bpf.o': '7a14ed9f315a00eb',
  'prog_types.bpf.o': 'ffb93f84860d5e5c',
  'prog_types_new.bpf.o': 'c27d01aa859bd41c',
  'subprogs.bpf.o': 'e4de831a72b43302',
  'unknown_section.bpf.o': '1031b707f8197b49',
};

describe('btfForKernel', () => {
  for (const [name, digest] of Object.entries(DIGESTS)) {
    it(`gives the same bytes as before for ${name}`, () => {
      const spec = parseCollectionSpec(fixture(name));
      const raw = spec.btf!.raw.slice();
      const { bytes, unresolvedDatasecs } = btfForKernel(spec);
      expect(createHash('sha256').update(bytes).digest('hex').slice(0, 16)).toBe(digest);
      expect(unresolvedDatasecs).toEqual([]);
      expect(bytes.buffer).not.toBe(spec.btf!.raw.buffer);
      expect(spec.btf!.raw).toEqual(raw); // the spec is not touched
    });
  }

  it('names a DATASEC without an ELF section, and fills the rest', () => {
    const spec = parseCollectionSpec(fixture('minimal.bpf.o'));
    const { bytes, unresolvedDatasecs } = btfForKernel({ ...spec, dataSections: {} });
    expect(unresolvedDatasecs).toEqual(['license']);
    expect(bytes).toEqual(spec.btf!.raw); // nothing to patch: xdp_pass is a global FUNC
  });

  it('refuses a DATASEC variable without an ELF symbol (BTF_INVALID)', () => {
    const spec = parseCollectionSpec(fixture('minimal.bpf.o'));
    const dataSections = { license: { size: 4, symbols: {} } };
    expect(() => btfForKernel({ ...spec, dataSections })).toThrow(ObjectParseError);
    expect(() => btfForKernel({ ...spec, dataSections })).toThrow('DATASEC license: variable LICENSE has no ELF symbol');
  });

  it('refuses a spec without BTF (BTF_NOT_FOUND)', () => {
    const spec = parseCollectionSpec(fixture('minimal.bpf.o'));
    expect(() => btfForKernel({ ...spec, btf: undefined })).toThrow(expect.objectContaining({ code: 'BTF_NOT_FOUND' }));
  });
});
