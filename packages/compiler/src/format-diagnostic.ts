/** `formatDiagnostic`: a parsed clang diagnostic printed as tsc prints its errors. */
import { readFileSync } from 'node:fs';
import type { Diagnostic } from './diagnostics.js';

export interface FormatDiagnosticOptions {
  /** ANSI colours, as tsc --pretty. */
  readonly color?: boolean;
  /** Source text by file (read from disk when absent). */
  readonly readSource?: (file: string) => string | undefined;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
const SEVERITY_COLOR: Record<string, string> = { error: '91', 'fatal error': '91', warning: '93', note: '96', remark: '96' };

function defaultRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A diagnostic as tsc prints one: `file:line:col - error: message [flag]`,
 * then the source line with a caret under the column, then notes and fix-its.
 */
export function formatDiagnostic(d: Diagnostic, options: FormatDiagnosticOptions = {}): string {
  const color = options.color ?? false;
  const read = options.readSource ?? defaultRead;
  const sources = new Map<string, string[] | undefined>();
  const lineOf = (file: string, n: number) => {
    if (!sources.has(file)) sources.set(file, read(file)?.split('\n'));
    return sources.get(file)?.[n - 1];
  };
  const one = (x: Diagnostic, indent: string): string => {
    let s = '';
    for (const inc of x.includedFrom) s += `${indent}${paint(color, '2', `In file included from ${inc}:`)}\n`;
    const where = x.file ? `${paint(color, '96', x.file)}:${paint(color, '93', String(x.line))}:${paint(color, '93', String(x.column))} - ` : '';
    s += `${indent}${where}${paint(color, SEVERITY_COLOR[x.severity] ?? '0', x.severity)}: ${x.message}${x.flag ? paint(color, '2', ` [${x.flag}]`) : ''}\n`;
    const text = x.file ? lineOf(x.file, x.line) : undefined;
    if (text !== undefined) {
      const gutter = String(x.line);
      s += `\n${indent}${paint(color, '7', gutter)} ${text.replace(/\t/g, ' ')}\n`;
      s += `${indent}${' '.repeat(gutter.length)} ${' '.repeat(Math.max(0, x.column - 1))}${paint(color, '91', '^')}\n`;
      for (const f of x.fixIts) {
        s += `${indent}${' '.repeat(gutter.length)} ${' '.repeat(Math.max(0, f.column - 1))}${paint(color, '92', f.replacement)}  (fix-it)\n`;
      }
    }
    for (const n of x.notes) s += '\n' + one(n, indent + '  ');
    return s;
  };
  return one(d, '');
}
