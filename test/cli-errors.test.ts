/**
 * Bad input to the CLI is the user's error, never a crash: every command
 * given a missing, empty, truncated or foreign file (or an output it cannot
 * write) prints one `tsbpf: ...` line and exits 1. "internal error" (exit 2,
 * with a stack) is for bugs only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import { CliError, reportFailure } from 'tsbpf';
import { allFixtures, fixturePath, readFixture } from '@tsbpf/fixtures';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from './support/env.js';
import { runCli as run } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-cli-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One line, `tsbpf: `, exit 1: what a user's mistake looks like. */
async function expectUserError(argv: string[], message?: RegExp): Promise<string> {
  const r = await run(...argv);
  const what = `tsbpf ${argv.join(' ')}`;
  expect(r.err, what).not.toContain('internal error');
  expect(r.code, `${what}: ${r.err}`).toBe(1);
  expect(r.err, what).toMatch(/^tsbpf: [^\n]+\n/);
  if (message) expect(r.err, what).toMatch(message);
  return r.err;
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

const empty = file('empty.o', '');
const garbage = file(
  'garbage.o',
  new Uint8Array(4096).map((_, i) => (i * 7919 + 13) & 0xff),
);
const text = join(repoRoot, 'package.json');
// A BTF header (magic 0xeb9f, version 1, header length 24) whose type and string sections point far past the end.
const btfHeader = new Uint8Array(24);
new DataView(btfHeader.buffer).setUint16(0, 0xeb9f, true);
btfHeader[2] = 1;
new DataView(btfHeader.buffer).setUint32(4, 24, true);
new DataView(btfHeader.buffer).setUint32(12, 1 << 20, true);
new DataView(btfHeader.buffer).setUint32(20, 1 << 20, true);
const badBtf = file('bad.btf', btfHeader);

describe('tsbpf given bad input', () => {
  it('inspect: missing, empty, foreign and garbage files', async () => {
    await expectUserError(['inspect', join(work, 'missing.o')], /missing\.o: no such file\n$/);
    await expectUserError(['inspect', empty], /\[ELF_INVALID\]/);
    await expectUserError(['inspect', text], /\[ELF_INVALID\]/);
    await expectUserError(['inspect', garbage], /\[ELF_INVALID\]/);
    await expectUserError(['inspect', work], /tsbpf: .*cli-errors-\w+: /); // a directory
  });

  it('objdump: a file that is not an ELF object, and a program it does not have', async () => {
    await expectUserError(['objdump', text], /package\.json: .*\[ELF_INVALID\]/);
    await expectUserError(['objdump', empty]);
    await expectUserError(['objdump', fixturePath('minimal.bpf.o'), '--program', 'nope'], /no program named nope/);
  });

  it('btf dump: garbage, a BTF header that lies, a missing kernel file, a bad --base', async () => {
    await expectUserError(['btf', 'dump', garbage], /\[BTF_INVALID\]/);
    await expectUserError(['btf', 'dump', badBtf], /bad\.btf: .*\[BTF_INVALID\]/);
    await expectUserError(['btf', 'dump', empty]);
    await expectUserError(['btf', 'dump', '/sys/kernel/btf/tsbpf-no-such-module'], /no such file/);
    await expectUserError(['btf', 'dump', badBtf, '--base', garbage]);
  });

  it("every committed fixture, cut short at several lengths: inspect, objdump and btf dump fail as the user's error", async () => {
    for (const f of allFixtures().filter((x) => !x.invalid && x.endian === 'little')) {
      const bytes = readFixture(f.name);
      for (const len of [16, 64, 200, bytes.length >> 1, bytes.length - 8]) {
        const cut = file(`cut-${len}-${f.name}`, bytes.subarray(0, len));
        for (const argv of [
          ['inspect', cut],
          ['objdump', cut],
          ['btf', 'dump', cut],
        ]) {
          const r = await run(...argv);
          // A cut that removed nothing the command reads may succeed; a failure must be the user's.
          if (r.code !== 0) await expectUserError(argv);
        }
      }
    }
  });

  it('the invalid fixtures: each command names the problem and its code', async () => {
    for (const f of allFixtures().filter((x) => x.invalid)) {
      await expectUserError(['inspect', f.path], new RegExp(`\\[${f.expectError}\\]`));
      await expectUserError(['objdump', f.path], new RegExp(`\\[${f.expectError}\\]`));
    }
  });

  it('gen: a foreign file, a --record that is not MAP=STRUCT, an output in a directory that does not exist', async () => {
    await expectUserError(['gen', text], /\[ELF_INVALID\]/);
    await expectUserError(['gen', fixturePath('maps_btf.bpf.o'), '--record', 'nonsense']);
    await expectUserError(['gen', fixturePath('maps_btf.bpf.o'), '-o', join(work, 'no', 'such', 'dir', 'out.ts')]);
  });

  it('run: options it cannot use and a missing --data-in fail before anything is loaded', async () => {
    await expectUserError(['run', fixturePath('minimal.bpf.o'), '--program', 'xdp_pass', '--repeat', '0'], /--repeat/);
    await expectUserError(['run', fixturePath('minimal.bpf.o'), '--program', 'xdp_pass', '--data-in', join(work, 'missing.bin')], /no such file/);
  });

  it('build: -o with several sources', async () => {
    await expectUserError(['build', '-o', join(work, 'x.o'), 'a.bpf.c', 'b.bpf.c'], /-o names one output/);
  });
});

describeNeeds([hasCommand('clang'), hasCommand('llvm-strip')], 'tsbpf build given bad input', () => {
  it("a missing source and an output where no directory can be made are the user's errors", async () => {
    const missing = await run('build', join(work, 'missing.bpf.c'), '--no-cache');
    expect(missing.err).not.toContain('internal error');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/missing\.bpf\.c/);
    const src = file(
      'ok.bpf.c',
      '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n',
    );
    // Under a regular file: no directory can be made there.
    const nowhere = await run('build', src, '-o', join(src, 'ok.bpf.o'), '--no-cache');
    expect(nowhere.err).not.toContain('internal error');
    expect(nowhere.code).toBe(1);
    expect(nowhere.err).toMatch(/^tsbpf: \S+ok\.bpf\.c[/]ok\.bpf\.o: E[A-Z]+ .*\nFound 1 error in 1 file\.\n$/);
  });
});

describeNeeds([isRoot(), hasFile('/sys/fs/bpf')], 'tsbpf load given a pin directory it cannot make', () => {
  it("is the user's error", async () => {
    // Under a regular file: mkdir fails with ENOTDIR. (Not under /proc: Node's recursive mkdir loops forever there.)
    await expectUserError(['load', fixturePath('minimal.bpf.o'), '--pin', join(file('not-a-dir', ''), 'pins')]);
  });
});

describe('CliError', () => {
  it('is a TsbpfError, and docs/errors.md lists every code it has', () => {
    expect(TsbpfError.is(new CliError('x'))).toBe(true);
    expect(new CliError('x').code).toBe('COMMAND_FAILED');
    expect(new CliError('', 1).code).toBe('REPORTED');
    const source = readFileSync(join(repoRoot, 'packages/cli/src/errors.ts'), 'utf8');
    const union = source.slice(source.indexOf('export type CliErrorCode'), source.indexOf(';', source.indexOf('export type CliErrorCode')));
    const codes = [...union.matchAll(/\| '(\w+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(5);
    const docs = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## tsbpf (the command line)'));
    for (const c of codes) expect(section.slice(0, section.indexOf('\n## ', 1) >>> 0), c).toContain(`\`${c}\``);
  });
});

describe('reportFailure', () => {
  const report = (e: unknown) => {
    let err = '';
    const code = reportFailure(e, (t) => void (err += t));
    return { code, err };
  };

  it("prints any TsbpfError as the user's error, with its code when it is another package's", () => {
    expect(report(new CliError('x.o: no such file', 1, 'INPUT_UNREADABLE'))).toEqual({ code: 1, err: 'tsbpf: x.o: no such file\n' });
    expect(report(new TsbpfError('BTF_INVALID', 'bad header').addContext('x.btf'))).toEqual({ code: 1, err: 'tsbpf: x.btf: bad header [BTF_INVALID]\n' });
    expect(report(new CliError('', 3))).toEqual({ code: 3, err: '' }); // already reported: the exit code only
  });

  it('knows a TsbpfError from another copy of the packages by its brand', () => {
    const foreign = Object.assign(new Error('map counters: EPERM'), { name: 'SyscallError', code: 'EPERM' });
    Object.defineProperty(foreign, Symbol.for('tsbpf.error'), { value: true });
    expect(report(foreign)).toEqual({ code: 1, err: 'tsbpf: map counters: EPERM [EPERM]\n' });
  });

  it('anything else is a bug: internal error with the stack, exit 2', () => {
    const r = report(new RangeError('offset out of bounds'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tsbpf: internal error: RangeError: offset out of bounds\n\s+at /);
    expect(report('a string')).toEqual({ code: 2, err: 'tsbpf: internal error: a string\n' });
  });
});
