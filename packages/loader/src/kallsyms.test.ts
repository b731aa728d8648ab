import { expect, it } from 'vitest';
import { parseKallsyms } from './kallsyms.js';

it('parseKallsyms: the names asked for, module symbols too; one name at two addresses is ambiguous', () => {
  const text = [
    'ffffffff81000000 T _stext',
    'ffffffff821fb620 T schedule',
    'ffffffff81234560 t helper',
    'ffffffff81234999 t helper', // two static functions of one name
    'ffffffff8123aaaa t twice',
    'ffffffff8123aaaa t twice', // listed twice, one address: fine
    'ffffffffc0a01000 t mod_func\t[some_module]',
    'ffffffff81000000 T schedule_tail', // a prefix of another name is another name
  ].join('\n');
  const got = parseKallsyms(text, new Set(['schedule', 'helper', 'twice', 'mod_func', 'absent']));
  expect(got).toEqual(
    new Map<string, bigint | 'ambiguous'>([
      ['schedule', 0xffffffff821fb620n],
      ['helper', 'ambiguous'],
      ['twice', 0xffffffff8123aaaan],
      ['mod_func', 0xffffffffc0a01000n],
    ]),
  );
  expect(parseKallsyms('', new Set(['x'])).size).toBe(0);
  expect(parseKallsyms('garbage\nffff T\n\n', new Set(['T', 'garbage'])).size).toBe(0); // lines without three fields
});
