import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCollectionSpec } from '../collection-spec.js';
import { linkProgram } from './link-program.js';

const dir = fileURLToPath(new URL('../../../../fixtures/out/', import.meta.url));
const specs = readdirSync(dir)
  .filter((f) => f.endsWith('.bpf.o') && !f.startsWith('invalid_'))
  .map((f) => ({ file: f, spec: parseCollectionSpec(readFileSync(dir + f)) }));

describe('linkProgram of a program that calls nothing', () => {
  it('is its own instructions (a copy) and records at slot 0, as the general path lays them out', () => {
    let alone = 0;
    for (const { file, spec } of specs) {
      for (const p of Object.values(spec.programs)) {
        if (p.subprograms.length > 0 || p.relocations.some((r) => r.kind === 'call' || r.kind === 'func')) continue;
        alone++;
        const linked = linkProgram(spec, p.name);
        expect(linked.name, file).toBe(p.name);
        expect(linked.instructions).toEqual(p.instructions);
        expect(linked.instructions).not.toBe(p.instructions);
        expect(linked.layout).toEqual([{ name: p.name, start: 0 }]);
        expect(linked.relocations).toEqual(p.relocations);
        expect(linked.funcInfo).toEqual(p.funcInfo);
        expect(linked.lineInfo).toEqual(p.lineInfo);
        expect(linked.coreRelos).toEqual(p.coreRelos);
        // Fresh arrays: changing the result leaves the spec as it was.
        const before = { insn: p.instructions[0], relocations: p.relocations.length, funcInfo: p.funcInfo.length };
        linked.instructions[0] = ~linked.instructions[0]!;
        (linked.relocations as unknown[]).push({});
        (linked.funcInfo as unknown[]).push({});
        expect({ insn: p.instructions[0], relocations: p.relocations.length, funcInfo: p.funcInfo.length }).toEqual(before);
      }
    }
    expect(alone).toBeGreaterThan(10);
  });

  it('programs that call subprograms still get them appended', () => {
    const { spec } = specs.find((s) => s.file === 'subprogs.bpf.o')!;
    const callers = Object.values(spec.programs).filter((p) => p.subprograms.length > 0);
    expect(callers.length).toBeGreaterThan(0);
    for (const p of callers) {
      const linked = linkProgram(spec, p.name);
      expect(linked.layout.length).toBe(1 + p.subprograms.length);
      expect(linked.instructions.length).toBeGreaterThan(p.instructions.length);
    }
  });
});
