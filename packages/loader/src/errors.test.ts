/**
 * Every error class @tsbpf/loader exports is a TsbpfError with its codes
 * documented in docs/errors.md, and every LoaderErrorCode is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import * as loader from './index.js';
import { repoRoot } from '../../../test/support/env.js';

/** docs/errors.md's @tsbpf/loader table: [class, code] rows (a blank class continues the one above). */
function documented(): [string, string][] {
  const text = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const section = text.slice(text.indexOf('## @tsbpf/loader'), text.indexOf('\n## ', text.indexOf('## @tsbpf/loader') + 1));
  let current = '';
  return [...section.matchAll(/^\| (`\w+`)? *\| `(\w+)` \|/gm)].map((m) => {
    if (m[1]) current = m[1].slice(1, -1);
    return [current, m[2]!];
  });
}

/** One of each exported class, as the loader makes them. */
const samples: Record<string, () => TsbpfError> = {
  SyscallError: () => new loader.SyscallError('BPF_MAP_CREATE', 1, 'map m'),
  VerifierError: () => new loader.VerifierError('p', 13, 'R0 !read_ok', false),
  BtfLoadError: () => new loader.BtfLoadError(22, 'bad'),
  MapIncompatibleError: () => new loader.MapIncompatibleError('differs'),
  NotSupportedError: () => new loader.NotSupportedError('no'),
  LoaderError: () => new loader.LoaderError('CLOSED', 'closed'),
  TsbpfError: () => new TsbpfError('X', 'the base'),
};

describe("the loader's errors", () => {
  const classes = Object.entries(loader).filter(([, v]) => typeof v === 'function' && (v === TsbpfError || v.prototype instanceof TsbpfError));

  it('every exported error class is a TsbpfError named after itself', () => {
    expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(samples).sort());
    for (const [name] of classes) {
      const e = samples[name]!();
      expect(TsbpfError.is(e), name).toBe(true);
      expect(e.name, name).toBe(name);
      expect(e).toBeInstanceOf(Error);
    }
  });

  it('every code is documented in docs/errors.md, and nothing else is', () => {
    const loaderCodes = [...readFileSync(join(repoRoot, 'packages/loader/src/errors.ts'), 'utf8').matchAll(/^ {2}\| '(\w+)'/gm)].map((m) => m[1]!);
    expect(loaderCodes.length).toBeGreaterThan(10);
    const expected = [
      ...classes.filter(([name]) => name !== 'LoaderError' && name !== 'TsbpfError').map(([name]) => [name, samples[name]!().code]),
      ...loaderCodes.map((code) => ['LoaderError', code]),
    ];
    expect(documented().sort()).toEqual(expected.sort());
  });

  it("errors that are the kernel's answer carry errno and its name", () => {
    for (const e of [samples.SyscallError!(), samples.VerifierError!(), samples.BtfLoadError!()]) {
      expect(typeof e.errno).toBe('number');
      expect((e as { errnoName?: string }).errnoName).toMatch(/^E[A-Z0-9]+$/);
    }
  });
});
