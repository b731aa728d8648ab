import { readFixture } from '@tsbpf/fixtures';
import { expect, it } from 'vitest';
import { parseCollectionSpec } from '../collection-spec.js';
import { CORE_POISON_HELPER } from './core-apply.js';
import { POISON_CALL_KFUNC_BASE } from './externs.js';
import { explainPoison } from './poison.js';

it('explains a reached absent weak kfunc by its name, and leaves other invalid calls alone', () => {
  const s = parseCollectionSpec(readFixture('externs_weak.bpf.o'));
  const names = Object.keys(s.externs);
  const i = names.findIndex((n) => s.externs[n]!.kind === 'ksym');
  expect(i).toBeGreaterThanOrEqual(0);
  expect(POISON_CALL_KFUNC_BASE).toBe(2002000000);
  const log = `5: (85) call unknown#${2002000000 + i}\ninvalid func unknown#${2002000000 + i}\n`;
  expect(explainPoison(log, [], s)).toBe(`kfunc ${names[i]} is not in this kernel and its call can be reached (guard it with bpf_ksym_exists(${names[i]}))`);
  expect(explainPoison('3: (85) call unknown#99999\ninvalid func unknown#99999\n', [], s)).toBeUndefined();
  expect(explainPoison(`3: (85) call unknown#${2002000000 + names.length}\ninvalid func unknown#${2002000000 + names.length}\n`, [], s)).toBeUndefined();
  expect(explainPoison('R1 invalid mem access', [], s)).toBeUndefined();
  // A CO-RE poison without its relocation result still says what it is.
  expect(explainPoison('7: (85) call unknown#195896080\ninvalid func unknown#195896080', [], s)).toBe(
    'an instruction poisoned for a failed CO-RE relocation was reached',
  );
});

it('explains a reached CO-RE poison by the relocation that failed at that instruction', () => {
  const s = parseCollectionSpec(readFixture('minimal.bpf.o'));
  expect(CORE_POISON_HELPER).toBe(195896080);
  const log = '3: (85) call unknown#195896080\n7: (85) call unknown#195896080\ninvalid func unknown#195896080\n';
  const core = [
    { insn: 3, kind: 'field_byte_offset', poison: 'task_struct.a is not in the target BTF' },
    { insn: 7, kind: 'field_exists', value: 1, original: 1, validate: true },
    { insn: 7, kind: 'field_byte_offset', poison: 'task_struct.pid is not in the target BTF' },
  ] as const;
  // The last poisoned call in the log is where the verifier stopped.
  expect(explainPoison(log, core, s)).toBe(
    'CO-RE relocation (field_byte_offset) at instruction 7 failed: task_struct.pid is not in the target BTF; the poisoned instruction was reached',
  );
});
