/**
 * Mutated peer objects (cilium/ebpf's testdata, both byte orders) through
 * everything pure the fuzz harness (test/fuzz) runs: parse, every BTF type,
 * the dumps, the disassembly, linking, the BTF the kernel would be given,
 * the .kconfig layout, CO-RE against the object's own BTF, codecs and gen.
 * Only tsbpf's typed errors may come out, each case within its time budget:
 * never a TypeError, a RangeError, a stack overflow or a hang. And
 * the CLI's reading commands on every corpus object as it is: a typed error at
 * worst, never an internal error.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeNeeds, hasCommand } from '../support/env.js';
import { FILE_COMMANDS, fileArgv, internalError } from '../support/cli.js';
import { mutationsOf, runCase } from '../fuzz/harness.js';
import { ciliumPeer, type CiliumPeer } from './support/cilium-peer.js';

/** Mutated cases per object (each runs everything pure the fuzz harness knows). */
const CASES = 100;

let peer: CiliumPeer;

describeNeeds([hasCommand('go')], 'mutated peer objects give typed errors only', () => {
  beforeAll(() => {
    peer = ciliumPeer();
  }, 600_000);

  it('no CLI command prints an internal error for any corpus object', async () => {
    const files = ['testdata', 'btf/testdata'].flatMap((dir) =>
      readdirSync(join(peer.moduleDir, dir))
        .filter((f) => f.endsWith('.elf'))
        .map((f) => join(peer.moduleDir, dir, f)),
    );
    const internal: string[] = [];
    for (const file of files) {
      for (const command of FILE_COMMANDS) {
        const error = await internalError(command, file);
        if (error !== undefined) internal.push(`${fileArgv(command, file).join(' ')}: ${error}`);
      }
    }
    expect(internal).toEqual([]);
  }, 300_000);

  it('every cilium/ebpf testdata object, unmutated and mutated', () => {
    const files = ['testdata', 'btf/testdata'].flatMap((dir) =>
      readdirSync(join(peer.moduleDir, dir))
        .filter((f) => f.endsWith('.elf'))
        .map((f) => join(peer.moduleDir, dir, f)),
    );
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const original = new Uint8Array(readFileSync(file));
      const failures = [{ label: file, kind: 'object' as const, bytes: original }, ...mutationsOf(file, 'object', original, 0x13c0, CASES)].flatMap(
        (c) => runCase(c) ?? [],
      );
      expect(failures).toEqual([]);
    }
  }, 300_000);
});
