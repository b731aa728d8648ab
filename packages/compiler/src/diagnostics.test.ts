import { describe, expect, it } from 'vitest';
import { parseDepfile } from './depfile.js';
import { parseDiagnostics } from './diagnostics.js';
import { formatDiagnostic } from './format-diagnostic.js';

const STDERR = `In file included from prog.bpf.c:3:
./common.h:7:10: warning: unused variable 'x' [-Wunused-variable]
prog.bpf.c:12:11: error: expected ';' after return statement
fix-it:"prog.bpf.c":{12:11-12:11}:";"
prog.bpf.c:9:3: note: expanded from macro 'RET'
clang-14: warning: argument unused during compilation: '-pthread' [-Wunused-command-line-argument]
fatal error: too many errors emitted, stopping now [-ferror-limit=]
2 errors generated.
`;

describe('parseDiagnostics', () => {
  const ds = parseDiagnostics(STDERR);

  it('reads locations, severities, flags and the include stack', () => {
    expect(ds).toHaveLength(4);
    expect(ds[0]).toMatchObject({
      file: './common.h',
      line: 7,
      column: 10,
      severity: 'warning',
      message: "unused variable 'x'",
      flag: '-Wunused-variable',
      includedFrom: ['prog.bpf.c:3'],
    });
    expect(ds[1]).toMatchObject({ file: 'prog.bpf.c', line: 12, column: 11, severity: 'error', includedFrom: [] });
  });

  it('attaches fix-its and notes to the diagnostic before them', () => {
    expect(ds[1]!.fixIts).toEqual([{ file: 'prog.bpf.c', line: 12, column: 11, endLine: 12, endColumn: 11, replacement: ';' }]);
    expect(ds[1]!.notes).toHaveLength(1);
    expect(ds[1]!.notes[0]).toMatchObject({ line: 9, column: 3, severity: 'note', message: "expanded from macro 'RET'" });
  });

  it('keeps driver and location-less diagnostics', () => {
    expect(ds[2]).toMatchObject({ file: undefined, severity: 'warning', flag: '-Wunused-command-line-argument' });
    expect(ds[3]).toMatchObject({ file: undefined, severity: 'fatal error', message: 'too many errors emitted, stopping now' });
  });

  it('formats like tsc: location, message, source line and caret, fix-it', () => {
    const text = formatDiagnostic(ds[1]!, {
      readSource: () => Array.from({ length: 11 }, () => '').join('\n') + '\n  return 0\n',
    });
    expect(text).toBe(
      "prog.bpf.c:12:11 - error: expected ';' after return statement\n" +
        '\n12   return 0\n' +
        '             ^\n' +
        '             ;  (fix-it)\n' +
        "\n  prog.bpf.c:9:3 - note: expanded from macro 'RET'\n\n" +
        '  9 \n' +
        '      ^\n',
    );
  });
});

describe('parseDepfile', () => {
  it('reads continued lines and escaped spaces', () => {
    expect(parseDepfile('out.o: a.c /usr/include/bpf/bpf_helpers.h \\\n  my\\ dir/x.h $$y.h\n')).toEqual([
      'a.c',
      '/usr/include/bpf/bpf_helpers.h',
      'my dir/x.h',
      '$y.h',
    ]);
  });
});
