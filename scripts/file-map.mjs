#!/usr/bin/env node
/**
 * Writes docs/file-map.md: every source file of the packages and examples
 * with the first sentence of its first comment (the comment that states its
 * one job, which test/architecture.test.ts requires). Generated so the map
 * cannot drift from the code; `--check` exits 1 when the file is stale.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'docs/file-map.md');

function sourceFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return /\.(ts|mts)$/.test(name) && !/\.test\.ts$|\.d\.ts$/.test(name) ? [path] : [];
    });
}

/** The first paragraph of the first comment before any declaration, as one line ('' when there is none). */
export function firstComment(source) {
  const lines = source.split('\n');
  let i = 0;
  const skip = (l) =>
    l === '' || l.startsWith('#!') || /^(import|export \* from|export \{[^}]*\} from)\b/.test(l) || /^[}\w$,\s]+\} from /.test(l) || /^\w+,?$/.test(l);
  while (i < lines.length && skip(lines[i].trim())) i++;
  const first = (lines[i] ?? '').trim();
  const text = [];
  if (first.startsWith('/*')) {
    for (; i < lines.length; i++) {
      const l = lines[i].trim();
      const t = l
        .replace(/^\/\*\*?/, '')
        .replace(/\*\/$/, '')
        .replace(/^\* ?/, '')
        .trim();
      if (t === '' && text.length > 0) break; // the first paragraph only
      text.push(t);
      if (l.endsWith('*/')) break;
    }
  } else {
    for (; i < lines.length && lines[i].trim().startsWith('//'); i++) text.push(lines[i].trim().replace(/^\/\/ ?/, ''));
  }
  return text.join(' ').replace(/\s+/g, ' ').trim();
}

/** Up to the end of the first sentence: a full stop followed by a space and a capital, or the end. */
export function firstSentence(text) {
  const m = /^(.*?[.!?])(?=\s+[A-Z`(])/.exec(text);
  return (m ? m[1] : text).trim();
}

export function renderFileMap() {
  const groups = ['packages', 'examples'].flatMap((top) =>
    readdirSync(join(root, top))
      .sort()
      .map((name) => join(root, top, name, 'src'))
      .filter((d) => {
        try {
          return statSync(d).isDirectory();
        } catch {
          return false;
        }
      }),
  );
  const out = [
    '# File map',
    '',
    "<!-- Written by scripts/file-map.mjs from each file's first comment; `npm run docs:update` rewrites it, a test checks it is current. -->",
    '',
    'Every source file and the first sentence of the comment that states its job. The rules and the picture are in [architecture.md](architecture.md).',
  ];
  for (const dir of groups) {
    out.push('', `## ${relative(root, dirname(dir))}`, '');
    for (const file of sourceFiles(dir)) {
      const job = firstSentence(firstComment(readFileSync(file, 'utf8'))).replace(/\|/g, '\\|');
      out.push(`- \`${relative(dir, file)}\`: ${job || '(no comment)'}`);
    }
  }
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderFileMap();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OUT, 'utf8');
    } catch {}
    if (current !== text) {
      console.error('docs/file-map.md is stale: run npm run docs:update');
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
    console.log(`wrote ${relative(root, OUT)}`);
  }
}
