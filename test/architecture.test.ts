/**
 * The dependency rules of docs/architecture.md, checked on every import
 * specifier in each package's src/.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/env.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** The module specifiers a file really imports (TypeScript's own scanner: text in strings does not count). */
function imports(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

const rules: Record<string, { allowed: (spec: string) => boolean; why: string }> = {
  object: {
    allowed: (s) => s.startsWith('.'),
    why: '@tsbpf/object is pure: its own files only (no node:*, no other @tsbpf/*; elfy only in tests, as a reference)',
  },
  loader: {
    allowed: (s) =>
      s.startsWith('.') ||
      s === '@tsbpf/object' ||
      s === 'koffi' ||
      ['node:buffer', 'node:fs', 'node:util', 'node:os', 'node:zlib', 'node:path', 'node:stream'].includes(s),
    why: '@tsbpf/loader: its own files, @tsbpf/object, koffi (sys/ffi.ts only), node:buffer (the longest view), node:fs, node:os, node:path, node:stream (iterator output as a Readable), node:util and node:zlib (/proc/config.gz)',
  },
  compiler: {
    allowed: (s) =>
      s.startsWith('.') || s === '@tsbpf/object' || ['node:child_process', 'node:crypto', 'node:fs', 'node:os', 'node:path', 'node:util'].includes(s),
    why: '@tsbpf/compiler: its own files, @tsbpf/object and node built-ins (never the loader)',
  },
  maps: {
    allowed: (s) => s.startsWith('.') || s === '@tsbpf/object' || s === '@tsbpf/loader',
    why: '@tsbpf/maps: its own files, @tsbpf/loader and @tsbpf/object (no koffi, no node:*)',
  },
  cli: { allowed: () => true, why: '' },
};

describe('package dependency rules', () => {
  for (const [pkg, rule] of Object.entries(rules)) {
    it(`${pkg}: ${rule.why || 'anything'}`, () => {
      const offenders = sourceFiles(join(repoRoot, 'packages', pkg, 'src')).flatMap((f) =>
        imports(f)
          .filter((s) => !rule.allowed(s))
          .map((s) => `${relative(repoRoot, f)} imports ${s}`),
      );
      expect(offenders).toEqual([]);
    });
  }

  it('pod-firewall: the policy logic is pure (its own files, yaml, zod and the pure @tsbpf/object for TsbpfError; no I/O, no loader)', () => {
    const offenders = sourceFiles(join(repoRoot, 'examples/pod-firewall/src/policy')).flatMap((f) =>
      imports(f)
        .filter((s) => !(s.startsWith('./') || s === 'yaml' || s === 'zod' || s === '@tsbpf/object'))
        .map((s) => `${relative(repoRoot, f)} imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('pod-firewall: the oracle shares nothing with the map compiler but the model', () => {
    expect(imports(join(repoRoot, 'examples/pod-firewall/src/policy/oracle.ts')).filter((s) => s !== './model.js')).toEqual([]);
  });

  it('the scanner sees real imports (and only those)', () => {
    expect(imports(join(repoRoot, 'packages/loader/src/sys/ffi.ts'))).toContain('koffi');
    expect(imports(join(repoRoot, 'packages/maps/src/codegen-template.ts'))).toEqual(['./codegen-text.js']);
  });

  it("koffi is imported nowhere but the loader's sys/ffi.ts", () => {
    const offenders = readdirSync(join(repoRoot, 'packages')).flatMap((pkg) =>
      sourceFiles(join(repoRoot, 'packages', pkg, 'src'))
        .filter((f) => !f.endsWith(join('loader', 'src', 'sys', 'ffi.ts')))
        .filter((f) => imports(f).includes('koffi'))
        .map((f) => relative(repoRoot, f)),
    );
    expect(offenders).toEqual([]);
  });
});

/**
 * Rooms with one job: every source file (tests and generated files apart)
 * says what it is for in a comment before its first declaration (after
 * the shebang and the imports at most), and stays short enough to read.
 */
describe('source files', () => {
  const MAX_LINES = 420;
  const roots = ['packages', 'examples'].flatMap((top) =>
    readdirSync(join(repoRoot, top))
      .map((p) => join(repoRoot, top, p, 'src'))
      .filter((d) => {
        try {
          return statSync(d).isDirectory();
        } catch {
          return false;
        }
      }),
  );
  const files = roots.flatMap((d) => sourceFiles(d)).filter((f) => !/\.generated\.ts$|\/bindings\.ts$/.test(f));

  it('each states its job in its first comment, before any declaration', () => {
    const silent = files.filter((f) => {
      const lines = readFileSync(f, 'utf8').split('\n');
      for (const line of lines) {
        const l = line.trim();
        if (l === '' || l.startsWith('#!') || /^(import|export \* from|export \{[^}]*\} from)\b/.test(l) || /^[}\w$,\s]+\} from /.test(l) || /^\w+,?$/.test(l))
          continue;
        return !(l.startsWith('/*') || l.startsWith('//'));
      }
      return true;
    });
    expect(silent.map((f) => relative(repoRoot, f))).toEqual([]);
  });

  it(`none is over ${MAX_LINES} lines`, () => {
    const long = files.filter((f) => readFileSync(f, 'utf8').split('\n').length > MAX_LINES).map((f) => relative(repoRoot, f));
    expect(long).toEqual([]);
  });
});

describe('docs/file-map.md', () => {
  it('is what scripts/file-map.mjs writes from the files as they are (npm run docs:update after adding, renaming or re-describing a file)', async () => {
    const { renderFileMap } = await import('../scripts/file-map.mjs');
    expect(readFileSync(join(repoRoot, 'docs/file-map.md'), 'utf8')).toBe(renderFileMap());
  });
});
