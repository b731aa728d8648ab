/**
 * Differential test: `tsbpf btf dump FILE --format raw` must print exactly
 * what `bpftool btf dump file FILE format raw` prints, line for line, for the
 * kernel's BTF and for every fixture; `--format json` must hold the same
 * types as `bpftool -j`.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { allFixtures } from '@tsbpf/fixtures';
import { describeNeeds, hasCommand, hasFile } from './support/env.js';
import { runCli } from './support/cli.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

async function tsbpf(...argv: string[]): Promise<string> {
  const { code, out, err } = await runCli(...argv);
  if (code !== 0) throw new Error(`tsbpf ${argv.join(' ')} exited ${code}: ${err}`);
  return out;
}

function bpftool(...argv: string[]): string {
  return execFileSync('bpftool', argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
}

/** First differing line, for a readable failure instead of a 300k-line diff. */
function firstDifference(ours: string, theirs: string): string | undefined {
  const a = ours.split('\n');
  const b = theirs.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  tsbpf:   ${a[i]}\n  bpftool: ${b[i]}`;
  }
  return undefined;
}

type JsonTypes = { types: { kind: string; encoding?: string; values?: { val: number | string }[] }[] };

/**
 * bpftool -j prints an unsigned 32-bit ENUM value through a sign-extending
 * cast (0xfffffffe becomes 18446744073709551614); the raw dump prints it
 * right. Map both sides' large values to one token so the rest compares.
 */
function normalizeEnums(json: JsonTypes, limit: number): JsonTypes {
  for (const t of json.types) {
    if (t.kind !== 'ENUM' || t.encoding !== 'UNSIGNED') continue;
    for (const v of t.values ?? []) if (typeof v.val === 'number' && v.val >= limit) v.val = 'high-bit';
  }
  return json;
}

const fixturesWithBtf = allFixtures().filter((f) => !f.invalid);

describeNeeds([hasCommand('bpftool'), hasFile(VMLINUX)], 'btf dump vs bpftool', () => {
  it('vmlinux: raw dump is identical line for line', async () => {
    const ours = await tsbpf('btf', 'dump', VMLINUX, '--format', 'raw');
    const theirs = bpftool('btf', 'dump', 'file', VMLINUX, 'format', 'raw');
    expect(ours.length).toBeGreaterThan(1_000_000);
    expect(firstDifference(ours, theirs)).toBeUndefined();
  });

  it('vmlinux: json dump holds the same types', async () => {
    const ours = normalizeEnums(JSON.parse(await tsbpf('btf', 'dump', VMLINUX, '--format', 'json')) as JsonTypes, 2 ** 31);
    const theirs = normalizeEnums(JSON.parse(bpftool('-j', 'btf', 'dump', 'file', VMLINUX)) as JsonTypes, 2 ** 32);
    expect(ours.types.length).toBe(theirs.types.length);
    expect(ours).toEqual(theirs);
  });

  it('has fixtures with BTF', () => expect(fixturesWithBtf.length).toBeGreaterThan(3));

  for (const fixture of fixturesWithBtf) {
    it(`${fixture.name}: raw and json dumps match`, async () => {
      const theirs = bpftool('btf', 'dump', 'file', fixture.path, 'format', 'raw');
      const ours = await tsbpf('btf', 'dump', fixture.path, '--format', 'raw');
      expect(ours).not.toBe('');
      expect(firstDifference(ours, theirs)).toBeUndefined();
      const oursJson = normalizeEnums(JSON.parse(await tsbpf('btf', 'dump', fixture.path, '--format', 'json')) as JsonTypes, 2 ** 31);
      const theirsJson = normalizeEnums(JSON.parse(bpftool('-j', 'btf', 'dump', 'file', fixture.path)) as JsonTypes, 2 ** 32);
      expect(oursJson).toEqual(theirsJson);
    });
  }
});
