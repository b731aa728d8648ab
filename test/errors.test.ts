/**
 * One error model across the project (docs/errors.md): every error class a
 * package exports is a TsbpfError; every code a source file throws is in the
 * docs' table for that class; and nothing is thrown on purpose as a plain
 * Error, TypeError or RangeError (those mean a bug).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as object from '@tsbpf/object';
import * as loader from '@tsbpf/loader';
import * as maps from '@tsbpf/maps';
import * as compiler from '@tsbpf/compiler';
import * as cli from 'tsbpf';
import * as firewall from '../examples/pod-firewall/src/index.js';
import { repoRoot } from './support/env.js';

const { TsbpfError } = object;

const PACKAGES: [string, string, Record<string, unknown>][] = [
  ['packages/object', '@tsbpf/object', object],
  ['packages/loader', '@tsbpf/loader', loader],
  ['packages/maps', '@tsbpf/maps', maps],
  ['packages/compiler', '@tsbpf/compiler', compiler],
  ['packages/cli', 'tsbpf (the command line)', cli],
  ['examples/pod-firewall', 'examples/pod-firewall', firewall],
];

/** docs/errors.md: section title → class → codes (a row with a blank class continues the one above). */
function documented(): Map<string, Map<string, Set<string>>> {
  const text = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const out = new Map<string, Map<string, Set<string>>>();
  let section = '';
  let current = '';
  for (const line of text.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      section = heading[1]!.trim();
      out.set(section, new Map());
      current = '';
      continue;
    }
    const row = /^\| *(?:`(\w+)`)? *\| *`(\w+)` *\|/.exec(line);
    if (!row || !section) continue;
    if (row[1]) current = row[1];
    if (!current) continue;
    const classes = out.get(section)!;
    if (!classes.has(current)) classes.set(current, new Set());
    classes.get(current)!.add(row[2]!);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' ? [] : sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const docs = documented();

describe('one error model', () => {
  it('every exported error class of every package is a TsbpfError, documented in its section', () => {
    const wrong: string[] = [];
    for (const [, section, exports] of PACKAGES) {
      for (const [name, value] of Object.entries(exports)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
        if (value !== TsbpfError && !(value.prototype instanceof TsbpfError)) wrong.push(`${section} ${name}: not a TsbpfError`);
        else if (value !== TsbpfError && !docs.get(section)?.has(name) && !Array.from(docs.values()).some((c) => c.has(name)))
          wrong.push(`${section} ${name}: not in docs/errors.md`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every code thrown in the sources is in docs/errors.md for its class', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const [dir, section] of PACKAGES) {
      for (const file of sources(join(repoRoot, dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        // `new FooError('CODE', ...)` and the factories (`FooError.io('CODE', ...)`).
        for (const m of text.matchAll(/\b(?:new (\w+Error)|(\w+Error)\.\w+)\(\s*'([A-Z][A-Z0-9_]+)'/g)) {
          const cls = (m[1] ?? m[2])!;
          const code = m[3]!;
          // Classes with one fixed code take other things first (SyscallError: the command).
          const own =
            docs.get(section)?.get(cls) ??
            Array.from(docs.values())
              .find((c) => c.has(cls))
              ?.get(cls);
          if (own && own.size === 1 && !own.has(code)) continue;
          seen++;
          const anywhere = Array.from(docs.values()).some((c) => c.get(cls)?.has(code));
          if (!(docs.get(section)?.get(cls)?.has(code) ?? false) && !anywhere) missing.push(`${relative(repoRoot, file)}: ${cls} ${code}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('nothing is thrown on purpose as a plain Error, TypeError or RangeError', () => {
    // The oracle is independent of the project's code on purpose (it imports only the model), so it
    // throws plain errors for input the parser refuses first (docs/errors.md, examples/pod-firewall).
    const allowed = /examples\/pod-firewall\/src\/policy\/oracle(-fixtures)?\.ts$/;
    const plain: string[] = [];
    for (const [dir] of PACKAGES) {
      for (const file of sources(join(repoRoot, dir, 'src'))) {
        if (allowed.test(file)) continue;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (/throw new (Error|TypeError|RangeError)\(/.test(line) && !/unreachable/.test(line)) plain.push(`${relative(repoRoot, file)}:${i + 1}`);
          });
      }
    }
    expect(plain).toEqual([]);
  });
});
