/**
 * What a user sees when a YAML file is wrong: the document stream read with
 * line numbers (a syntax error stops it), the one zod issue worth showing
 * (unknown fields first, with a "did you mean"), its path as
 * `spec.ingress[0].from`, its message in API-server words, and the line of
 * the offending field.
 */
import { LineCounter, isNode, parseAllDocuments, type Document } from 'yaml';
import { z } from 'zod';
import { PolicyError, type PolicyErrorCode } from './errors.js';

export type PathSegment = string | number;

/** `spec.ingress[0].from` style; keys that are not identifiers are bracketed, as in `matchLabels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
};

function issueMessage(iss: z.core.$ZodIssue): string {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'required';
      // `version: 1` in a selector is the classic mistake: YAML made it a number.
      const hint = iss.expected === 'string' && typeof iss.input !== 'object' ? ' (quote it in YAML)' : '';
      return `must be ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}${hint}`;
    }
    case 'invalid_value': {
      const options = iss.values.map((v) => JSON.stringify(v));
      const want = options.length === 1 ? options[0] : `one of ${options.join(', ')}`;
      return `must be ${want} (got ${iss.input === undefined ? 'nothing' : JSON.stringify(iss.input)})`;
    }
    default:
      return iss.message;
  }
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The field names an object schema allows at `path`, for "did you mean" hints. */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let s: z.ZodType = schema;
  let i = 0;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (i === path.length) break;
    else if (s instanceof z.ZodArray && typeof path[i] === 'number') ((s = s.element as z.ZodType), i++);
    else if (s instanceof z.ZodObject && typeof path[i] === 'string') {
      const next = (s.shape as Record<string, z.ZodType>)[path[i] as string];
      if (!next) return [];
      ((s = next), i++);
    } else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

interface Problem {
  path: PathSegment[];
  message: string;
}

/** The one issue worth showing: an unknown field first, since a typo also makes its intended field look "required". */
export function firstProblem(error: z.ZodError, schema: z.ZodType): Problem {
  const issues = error.issues;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const key = unknown.keys[0] ?? '';
    const parent = unknown.path as PathSegment[];
    const guess = knownKeys(schema, parent)
      .map((k) => ({ k, d: editDistance(key, k) }))
      .filter(({ d }) => d <= 2)
      .sort((a, b) => a.d - b.d)[0];
    return { path: [...parent, key], message: guess ? `unknown field (did you mean "${guess.k}"?)` : 'unknown field' };
  }
  const first = issues[0];
  if (!first) return { path: [], message: 'invalid' };
  return { path: first.path as PathSegment[], message: issueMessage(first) };
}

/** 1-based line of the node at `path`, or of its nearest ancestor that exists in the document. */
function lineOf(doc: Document | undefined, lines: LineCounter | undefined, path: readonly PathSegment[]): number | undefined {
  if (!doc || !lines) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** YAML nulls (`from:` with nothing after it) mean "absent" to the API server; drop them so optional fields accept them. */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, dropNulls(x)]),
  );
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface YamlSource {
  doc: Document;
  lines: LineCounter;
  index: number;
}

/**
 * A field's problem as the error the user sees: `<subject>: <path>: <message>
 * (line N)`, the path and line also as fields. `src` is where to find the
 * line (none: no line); `document` is named for multi-document streams.
 */
export function fieldError(
  code: PolicyErrorCode,
  subject: string,
  src: YamlSource | undefined,
  path: readonly PathSegment[],
  message: string,
  document?: number,
): PolicyError {
  const where = formatPath(path);
  const line = lineOf(src?.doc, src?.lines, path);
  return new PolicyError(code, `${subject}: ${where ? `${where}: ` : ''}${message}${line ? ` (line ${line})` : ''}`, { path: where, document, line });
}

/** Parses every document, failing on the first syntax error; `where` names a document in messages. */
export function parseYamlStream(text: string, where: (index: number) => string): YamlSource[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  return docs.map((doc, index) => {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const what = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.message;
      const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw new PolicyError('YAML_INVALID', `YAML syntax error${where(index)}${at}: ${what}`, {
        document: index,
        line: pos?.line,
      });
    }
    return { doc, lines, index };
  });
}
