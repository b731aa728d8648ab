import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectParseError } from '../errors.js';
import { addressToFileOffset, imageFunctions, parseElfImage } from './elf-image.js';
import { parseUsdtNotes } from './usdt-notes.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-usdt-notes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sdt = '/usr/include/x86_64-linux-gnu/sys/sdt.h';
const canBuild =
  process.arch === 'x64' &&
  existsSync(sdt) &&
  (() => {
    try {
      execFileSync('cc', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

/** A PIE with three probes, one behind a semaphore, built by cc. */
function build(): Uint8Array {
  writeFileSync(
    join(work, 'p.c'),
    `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short prov_gated_semaphore __attribute__((section(".probes"))), prov_one_semaphore __attribute__((section(".probes"))), prov_two_semaphore __attribute__((section(".probes")));
__attribute__((noinline)) int probed(int x) { STAP_PROBE2(prov, two, x, 5); if (prov_gated_semaphore) STAP_PROBE(prov, gated); return x; }
int main(int argc, char **argv) { STAP_PROBE1(prov, one, argc); return probed(argc); }
`,
  );
  execFileSync('cc', ['-O2', '-o', join(work, 'p'), join(work, 'p.c')]);
  return readFileSync(join(work, 'p'));
}

describe.runIf(canBuild)('USDT notes of a real binary', () => {
  it('lists provider, name, arguments, file offsets and semaphores as readelf -n does', () => {
    const bytes = build();
    const { elfType, machine, notes } = parseUsdtNotes(bytes);
    expect([elfType, machine]).toEqual([3, 62]); // a PIE (ET_DYN) on x86-64
    const byName = Object.fromEntries(notes.map((n) => [n.name, n]));
    expect(Object.keys(byName).sort()).toEqual(['gated', 'one', 'two']);
    expect(byName.two!.args).toMatch(/^-4@%\w+ -4@\$5$/);
    expect(byName.one!.args).toMatch(/^-4@%\w+$/);
    expect(byName.gated!.args).toBe('');
    // readelf -n prints "Location: 0x..., Base: 0x..., Semaphore: 0x..."
    const readelf = execFileSync('readelf', ['-n', join(work, 'p')], { encoding: 'utf8' });
    for (const n of notes) {
      const m = new RegExp(`Name: ${n.name}\\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)`).exec(readelf)!;
      expect([n.address, n.semaphoreAddress]).toEqual([Number(m[1]), Number(m[2])]);
    }
    expect(byName.gated!.semaphoreAddress).not.toBe(0);
    expect(byName.one!.semaphoreAddress).not.toBe(0); // _SDT_HAS_SEMAPHORES gives every probe of the file one (zero-filled, unused)
    // In a PIE the first PT_LOAD maps offset 0 at address 0: code offsets equal addresses.
    const image = parseElfImage(bytes);
    for (const n of notes) expect(n.fileOffset).toBe(addressToFileOffset(image, n.address));
    const probed = imageFunctions(image).find((f) => f.name === 'probed')!;
    expect(byName.two!.address).toBeGreaterThanOrEqual(probed.address);
    expect(byName.two!.address).toBeLessThan(probed.address + probed.size);
  });

  it('turns every mutation of the file into a typed error or a parse, never another exception', () => {
    const bytes = build();
    const image = parseElfImage(bytes);
    const notes = image.sections.find((s) => s.name === '.note.stapsdt')!;
    let seed = 12345;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    for (let i = 0; i < 400; i++) {
      const copy = bytes.slice();
      // half the mutations hit the notes, the rest the headers
      const at = i % 2 === 0 ? notes.offset + rand(notes.size) : rand(64 + 64 * 14);
      for (let k = 0; k < 4; k++) copy[at + k] = rand(256);
      try {
        parseUsdtNotes(copy);
      } catch (e) {
        expect(e, `mutation at ${at}`).toBeInstanceOf(ObjectParseError);
      }
    }
  });
});

describe('files that are no probe target', () => {
  it('refuses non-ELF, 32-bit and truncated files with typed errors; a file without notes has none', () => {
    expect(() => parseUsdtNotes(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'ELF_INVALID' }));
    const elf32 = new Uint8Array(64);
    elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
    expect(() => parseUsdtNotes(elf32)).toThrow(expect.objectContaining({ code: 'ELF_UNSUPPORTED' }));
    const self = readFileSync(process.execPath);
    expect(() => parseUsdtNotes(self.subarray(0, 4096))).toThrow(expect.objectContaining({ code: 'ELF_INVALID' }));
    expect(Array.isArray(parseUsdtNotes(self).notes)).toBe(true);
  });
});
