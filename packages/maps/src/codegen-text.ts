/**
 * Small pieces of TypeScript text for generated bindings: string literals,
 * property names, indented blocks, import lists and union types wrapped to
 * a readable width.
 */

/** Lines longer than this are wrapped where the generator can (imports, unions, arrays of literals). */
export const WIDTH = 100;

/** A single-quoted string literal. */
export function quote(s: string): string {
  return `'${s.replace(/[\\'\u0000-\u001f\u2028\u2029]/g, (c) => (c === '\\' || c === "'" ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}'`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A property name: bare when it is an identifier, quoted otherwise. */
export function key(name: string): string {
  return IDENTIFIER.test(name) ? name : quote(name);
}

/** `object.name`, or `object['a-b']` where the name is no identifier. */
export function member(object: string, name: string): string {
  return IDENTIFIER.test(name) ? `${object}.${name}` : `${object}[${quote(name)}]`;
}

/** Each line indented by `depth` levels of two spaces. */
export function indent(lines: readonly string[], depth: number): string {
  const pad = '  '.repeat(depth);
  return lines.map((l) => (l === '' ? l : pad + l)).join('\n');
}

/** `{ a; b }` bodies: the lines inside braces, or `{}` when there are none. */
export function braces(lines: readonly string[], depth: number): string {
  return lines.length === 0 ? '{}' : `{\n${indent(lines, depth + 1)}\n${'  '.repeat(depth)}}`;
}

/** An import statement; `types` are imported as types. One line when it fits, one name a line otherwise. */
export function importStatement(values: Iterable<string>, types: Iterable<string>, from: string): string {
  const names = [...[...values].map((n) => ({ n, t: false })), ...[...types].map((n) => ({ n, t: true }))]
    .sort((a, b) => Number(a.t) - Number(b.t) || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
    .map(({ n, t }) => (t ? `type ${n}` : n));
  const line = `import { ${names.join(', ')} } from ${quote(from)};`;
  return line.length <= WIDTH
    ? line
    : `import {\n${indent(
        names.map((n) => `${n},`),
        1,
      )}\n} from ${quote(from)};`;
}

/** `type X = a | b | c;` on one line when it fits, one alternative a line otherwise. */
export function typeAlias(name: string, alternatives: readonly string[]): string {
  const line = `export type ${name} = ${alternatives.join(' | ')};`;
  return line.length <= WIDTH
    ? line
    : `export type ${name} =\n${indent(
        alternatives.map((a) => `| ${a}`),
        1,
      )};`;
}

/** A union type inline, parenthesized when it is one (for `T[]`). */
export function grouped(type: string): string {
  return type.includes(' | ') || type.includes('=>') ? `(${type})` : type;
}

/** `pascal_case` → `PascalCase`, for type names from C tags. */
export function pascalCase(s: string): string {
  return s.replace(/(^|_)([a-z0-9])/gi, (_, __, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '') || 'Anon';
}

/** Bytes as base64 lines of `width` characters. */
export function base64Lines(bytes: Uint8Array, width = WIDTH - 8): string[] {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const text = btoa(binary);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines;
}

/** A plain object of strings and numbers (and such objects) as a literal: `{ memberNames: 'camel' }`. */
export function literal(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${key(k)}: ${literal(v)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}
