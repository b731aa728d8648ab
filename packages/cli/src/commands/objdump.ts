/** `tsbpf objdump`: the disassembly of an object's programs, with source lines and relocation notes. */
import { formatInstructions, type ProgramSpec } from '@tsbpf/object';
import { CliError, type CliIo } from '../io.js';
import { parseObjectFile } from './inspect.js';

/** Disassembly of each program (and the subprograms it calls), with source lines from BTF.ext. */
export function objdump(io: CliIo, file: string, only: string | undefined): void {
  const spec = parseObjectFile(file);
  const all = [...Object.values(spec.programs), ...Object.values(spec.subprograms)];
  if (all.length === 0 && only === undefined) {
    io.out(`; ${file}: no programs (maps and data only)\n`);
    return;
  }
  const chosen = only === undefined ? all : all.filter((p) => p.name === only);
  if (chosen.length === 0) {
    throw new CliError(`${file}: no program named ${only}; have ${all.map((p) => p.name).join(', ')}`, 1, 'NO_SUCH_PROGRAM');
  }
  chosen.forEach((p, i) => {
    if (i > 0) io.out('\n');
    io.out(`${p.name}:  ; SEC("${p.sectionName}")${p.sectionName === '.text' ? ' subprogram' : ` ${p.typeName}`}\n`);
    io.out(
      formatInstructions(p.instructions, {
        byteOrder: spec.byteOrder,
        lineInfo: p.lineInfo,
        annotations: annotations(p),
      }),
    );
  });
}

function annotations(p: ProgramSpec): Map<number, string> {
  const notes = new Map<number, string>();
  for (const r of p.relocations) {
    const text = r.kind === 'map' ? `map ${r.map}` : r.kind === 'map_value' ? `${r.map}+${r.offset}` : r.kind === 'extern' ? `extern ${r.extern}` : r.target;
    notes.set(r.insn, text);
  }
  return notes;
}
