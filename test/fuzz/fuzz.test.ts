/**
 * The fuzz suite (issue 21): real objects and BTF blindly mutated and
 * field-corrupted, and generated hostile BTF, through everything pure and
 * lazy tsbpf does (see exercise.ts). Asserts only tsbpf's typed errors, each
 * case within a CPU time budget (harness.ts) and a memory budget (weighed in
 * a child process), and that the CLI's reading commands never print
 * "internal error". Bounded in `npm test` (a fixed seed, about a minute);
 * `npm run fuzz -- --seconds N` runs longer with a random seed, printed.
 * Environment: FUZZ_SEED, FUZZ_SECONDS, FUZZ_CASE (replay one case).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf, parseCollectionSpec } from '@tsbpf/object';
import { FILE_COMMANDS, internalError } from '../support/cli.js';
import { fuzz, makeCase, runCase, type FuzzCase } from './harness.js';
import { hostileInputs } from './hostile.js';
import { seeds } from './inputs.js';
import { FINDINGS, findingCase } from './regressions.js';
import { weighCases } from './memory.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x21f022;
/** Seconds of random cases (the hostile inputs, the CLI and memory checks come on top). */
const SECONDS = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : 20;
const ONE_CASE = process.env.FUZZ_CASE ? Number(process.env.FUZZ_CASE) : undefined;
/** What a case may add to the heap and array buffers while it runs: 64 MiB, and 32 bytes per input byte. */
const memoryBudget = (c: FuzzCase) => (64 << 20) + 32 * c.bytes.length;

describe(`fuzz (seed ${SEED})`, () => {
  it('has real inputs to mutate, each with fields to corrupt', () => {
    const all = seeds();
    expect(all.filter((s) => s.kind === 'object').length).toBeGreaterThan(3);
    expect(all.filter((s) => s.kind === 'btf').length).toBeGreaterThan(3);
    for (const s of all.filter((x) => x.name.startsWith('fixture') || x.name.startsWith('vmlinux'))) {
      // Real inputs as they are: they parse, so the mutations start from something valid.
      expect(s.fields.length, s.name).toBeGreaterThan(0);
      if (s.kind === 'btf') expect(Btf.parse(s.bytes).length, s.name).toBeGreaterThan(1);
      else expect(() => parseCollectionSpec(s.bytes), s.name).not.toThrow();
    }
    const labels = new Set(all.flatMap((s) => s.fields.map((f) => f.label)));
    for (const l of ['ELF e_shnum', 'section sh_offset', 'BTF type_len', 'BTF vlen', 'BTF name_off', 'relocation symbol index', 'BTF.ext line_info rec_size'])
      expect(labels, l).toContain(l);
  });

  // Only when asked (FUZZ_CASE=I): a replay tool, not a test that is skipped on every other run.
  if (ONE_CASE !== undefined) {
    it(`replays case ${ONE_CASE}`, () => {
      const c = makeCase(SEED, ONE_CASE);
      process.stderr.write(`case ${ONE_CASE}: ${c.label} (${c.bytes.length} bytes)\n`);
      expect(runCase(c)).toBeUndefined();
    });
  }

  it('every finding of the fuzzer, kept as a fixed input: typed errors only, within budget', () => {
    expect(FINDINGS.flatMap((f) => runCase(findingCase(f)) ?? [])).toEqual([]);
  });

  it('every generated hostile input (regressions kept as fixed inputs): typed errors only, within budget', () => {
    const failures = hostileInputs().flatMap((h) => runCase({ label: h.name, kind: h.kind, bytes: h.bytes }) ?? []);
    expect(failures).toEqual([]);
  }, 300_000);

  it(
    `random cases for ${SECONDS} s: typed errors only, within budget`,
    () => {
      const run = fuzz({ seed: SEED, seconds: SECONDS });
      process.stderr.write(`fuzz: seed ${SEED}: ${run.cases} cases in ${SECONDS} s, ${run.failures.length} failed\n`);
      expect(run.cases).toBeGreaterThan(50);
      expect(run.failures.slice(0, 20)).toEqual([]);
    },
    (SECONDS + 300) * 1000,
  );

  describe('the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-fuzz-cli-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('never prints an internal error for a hostile or mutated input', async () => {
      const small = hostileInputs().filter((h) => h.bytes.length < 256 << 10);
      const cases: FuzzCase[] = [...small.map((h) => ({ label: h.name, kind: h.kind, bytes: h.bytes })), ...FINDINGS.map(findingCase)];
      for (let i = 0; cases.length < small.length + FINDINGS.length + 120; i++) cases.push(makeCase(SEED ^ 0xc11, i));
      const internal: string[] = [];
      let ran = 0;
      const end = performance.now() + Math.max(15, SECONDS / 2) * 1000;
      for (const [i, c] of cases.entries()) {
        if (performance.now() > end && i >= small.length + FINDINGS.length) break;
        const file = join(dir, `case-${i}.${c.kind === 'btf' ? 'btf' : 'o'}`);
        writeFileSync(file, c.bytes);
        for (const command of c.kind === 'btf' ? FILE_COMMANDS.filter((x) => x[0] === 'btf') : FILE_COMMANDS) {
          const error = await internalError(command, file, 3);
          ran++;
          if (error !== undefined) internal.push(`${c.label}: tsbpf ${command.join(' ')}: ${error}`);
        }
        rmSync(file);
      }
      expect(ran).toBeGreaterThan(small.length * 4);
      expect(internal.slice(0, 20)).toEqual([]);
    }, 600_000);
  });

  it('every case within its memory budget, in a child process with a capped heap', async () => {
    const cases: FuzzCase[] = [...hostileInputs().map((h) => ({ label: h.name, kind: h.kind, bytes: h.bytes })), ...FINDINGS.map(findingCase)];
    for (let i = 0; i < 80; i++) cases.push(makeCase(SEED ^ 0x3e3, i));
    const run = await weighCases(cases);
    expect(run.died).toBeUndefined();
    expect(run.results.length).toBe(cases.length);
    const over = run.results.flatMap((r, i) =>
      r.grew > memoryBudget(cases[i]!)
        ? [`${r.label}: grew ${(r.grew / 2 ** 20).toFixed(1)} MiB (budget ${(memoryBudget(cases[i]!) / 2 ** 20).toFixed(1)})`]
        : [],
    );
    expect(over).toEqual([]);
    // Nothing a case leaves behind adds up: the last case's retained memory is that of the first, give or take.
    expect(run.results.at(-1)!.retained).toBeLessThan(run.results[0]!.retained + (64 << 20));
  }, 600_000);
});
