import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fileOffsetToVaddr, readElfSymbols } from './elf-symbols.js';
import { readElfFile } from './process-symbols.js';
import { describeNeeds, hasCommand } from '../../../test/support/env.js';

const C = `
int tsbpf_first(int x) { return x * 3 + 1; }
static int tsbpf_local(int x) { return x ^ 0x55; }
int main(int argc, char **argv) { (void)argv; return tsbpf_first(argc) + tsbpf_local(argc); }
`;

const fromBytes = (b: Uint8Array) => readElfSymbols((offset, length) => b.subarray(offset, offset + length));

it('is undefined for what is not ELF64 little-endian', () => {
  expect(fromBytes(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toBeUndefined();
  expect(fromBytes(new Uint8Array(0))).toBeUndefined();
  const elf32 = new Uint8Array(64);
  elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
  expect(fromBytes(elf32)).toBeUndefined();
  expect(readElfFile('/nonexistent/file')).toBeUndefined();
});

it('maps file offsets to addresses through the segment holding them', () => {
  const segments = [
    { offset: 0n, vaddr: 0n, filesz: 0x1000n },
    { offset: 0x1000n, vaddr: 0x201000n, filesz: 0x500n },
  ];
  expect(fileOffsetToVaddr(segments, 0x1010n)).toBe(0x201010n);
  expect(fileOffsetToVaddr(segments, 0x10n)).toBe(0x10n);
  expect(fileOffsetToVaddr(segments, 0x1500n)).toBeUndefined();
});

describeNeeds([hasCommand('gcc'), hasCommand('nm')], 'ELF symbols of a binary gcc built', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-elfsym-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const nm = (path: string, dynamic: boolean) =>
    new Map(
      execFileSync('nm', [...(dynamic ? ['-D'] : []), '--defined-only', path], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split(' '))
        .filter((f) => f.length === 3 && /^[tTi]$/.test(f[1]!))
        .map((f) => [f[2]!, BigInt(`0x${f[0]}`)] as const),
    );
  let exe: string;
  let stripped: string;
  beforeAll(() => {
    writeFileSync(join(dir, 't.c'), C);
    exe = join(dir, 't');
    stripped = join(dir, 't-stripped');
    execFileSync('gcc', ['-O0', '-g', '-fPIE', '-pie', '-rdynamic', '-o', exe, join(dir, 't.c')]);
    execFileSync('gcc', ['-O0', '-s', '-fPIE', '-pie', '-rdynamic', '-o', stripped, join(dir, 't.c')]);
  });

  it('finds each function nm lists at its address, and inside it', () => {
    const elf = readElfFile(exe)!;
    const want = nm(exe, false);
    expect(want.has('tsbpf_first') && want.has('tsbpf_local') && want.has('main')).toBe(true);
    for (const [name, address] of want) {
      const got = elf.symbols.lookup(address);
      expect(got?.offset, name).toBe(0n);
    }
    expect(elf.symbols.lookup(want.get('tsbpf_local')! + 2n)?.name).toBe('tsbpf_local');
    expect(elf.segments.length).toBeGreaterThan(0);
    // The same through the in-memory reader.
    expect(fromBytes(readFileSync(exe))!.symbols.lookup(want.get('main')!)?.name).toBe('main');
  });

  it('falls back to .dynsym in a stripped binary (exported functions only)', () => {
    const elf = readElfFile(stripped)!;
    expect(elf).toBeDefined();
    expect(execFileSync('nm', [stripped], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
    const dyn = nm(stripped, true);
    expect(dyn.has('tsbpf_first')).toBe(true);
    for (const [name, address] of dyn) expect(elf.symbols.lookup(address)?.name, name).toBe(name);
    expect([...dyn.keys()].includes('tsbpf_local')).toBe(false);
  });

  it('survives a truncated file without throwing', () => {
    const bytes = readFileSync(exe);
    for (const n of [64, 200, bytes.length >> 1]) expect(() => fromBytes(bytes.subarray(0, n))).not.toThrow();
  });
});
