/**
 * clang's diagnostics, parsed from `-fno-color-diagnostics
 * -fdiagnostics-parseable-fixits` stderr (the source snippets and carets
 * clang prints between them are skipped; we print our own):
 *
 *   In file included from prog.bpf.c:3:
 *   ./common.h:7:10: error: use of undeclared identifier 'y'
 *   fix-it:"./common.h":{7:11-7:11}:";"
 *   prog.bpf.c:9:3: note: expanded from macro 'X'
 *   fatal error: too many errors emitted, stopping now [-ferror-limit=]
 *
 * Notes attach to the diagnostic before them, fix-its likewise, and the
 * include stack to the diagnostic after it.
 */
export type Severity = 'fatal error' | 'error' | 'warning' | 'note' | 'remark';

export interface FixIt {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  /** Text to put in place of the range (an insertion when the range is empty). */
  readonly replacement: string;
}

export interface Diagnostic {
  /** Undefined for diagnostics without a location (driver errors, error limits). */
  readonly file: string | undefined;
  readonly line: number;
  readonly column: number;
  readonly severity: Severity;
  readonly message: string;
  /** The warning flag or group, e.g. `-Wunused-variable`. */
  readonly flag: string | undefined;
  readonly notes: Diagnostic[];
  readonly fixIts: FixIt[];
  /** `In file included from` chain, innermost first: `file:line`. */
  readonly includedFrom: readonly string[];
}

const LOCATED = /^(.+?):(\d+):(\d+): (fatal error|error|warning|note|remark): (.*)$/;
const UNLOCATED = /^(?:(?:clang|clang-\d+(?:\.\d+)*|[\w./-]*clang[\w.-]*): )?(fatal error|error|warning|note|remark): (.*)$/;
const INCLUDED = /^In file included from (.+):(\d+):$|^\s+from (.+):(\d+):$/;
const FIXIT = /^fix-it:"((?:[^"\\]|\\.)*)":\{(\d+):(\d+)-(\d+):(\d+)\}:"((?:[^"\\]|\\.)*)"$/;
const FLAG = /^(.*) \[([^\]]+)\]$/;

export function parseDiagnostics(stderr: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  let last: Diagnostic | undefined;
  let includes: string[] = [];
  for (const line of stderr.split('\n')) {
    const inc = INCLUDED.exec(line);
    if (inc) {
      includes.push(`${inc[1] ?? inc[3]}:${inc[2] ?? inc[4]}`);
      continue;
    }
    const fix = FIXIT.exec(line);
    if (fix) {
      last?.fixIts.push({
        file: unescape(fix[1]!),
        line: Number(fix[2]),
        column: Number(fix[3]),
        endLine: Number(fix[4]),
        endColumn: Number(fix[5]),
        replacement: unescape(fix[6]!),
      });
      continue;
    }
    const loc = LOCATED.exec(line);
    const bare = loc ? undefined : UNLOCATED.exec(line);
    if (!loc && !bare) continue;
    const severity = (loc ? loc[4] : bare![1]) as Severity;
    const text = (loc ? loc[5] : bare![2])!;
    const flagged = FLAG.exec(text);
    const d: Diagnostic = {
      file: loc ? loc[1] : undefined,
      line: loc ? Number(loc[2]) : 0,
      column: loc ? Number(loc[3]) : 0,
      severity,
      message: flagged ? flagged[1]! : text,
      flag: flagged ? flagged[2] : undefined,
      notes: [],
      fixIts: [],
      includedFrom: includes,
    };
    includes = [];
    if (severity === 'note' && last) {
      last.notes.push(d);
    } else {
      out.push(d);
      last = d;
    }
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export function isError(d: Diagnostic): boolean {
  return d.severity === 'error' || d.severity === 'fatal error';
}
