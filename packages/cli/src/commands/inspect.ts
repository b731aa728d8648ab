/** `tsbpf inspect`: an object's programs and maps, as a table or as the documented JSON. */
import { parseCollectionSpec, withContext, type CollectionSpec } from '@tsbpf/object';
import { readInput, type CliIo } from '../io.js';

export interface InspectJson {
  programs: { name: string; section: string; type: string; attachType: string | null; instructions: number }[];
  maps: { name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: number }[];
}

export function parseObjectFile(path: string): CollectionSpec {
  const bytes = readInput(path);
  return withContext(path, () => parseCollectionSpec(bytes));
}

/** The `tsbpf inspect --json` contract: libbpf's type names, own instruction slots. */
export function inspectJson(spec: CollectionSpec): InspectJson {
  return {
    programs: Object.values(spec.programs).map((p) => ({
      name: p.name,
      section: p.sectionName,
      type: p.typeName,
      attachType: p.attachTypeName ?? null,
      instructions: p.instructions.length / 8,
    })),
    maps: Object.values(spec.maps).map((m) => ({
      name: m.name,
      type: m.typeName,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
    })),
  };
}

export function inspect(io: CliIo, file: string, json: boolean): void {
  const spec = parseObjectFile(file);
  const model = inspectJson(spec);
  if (json) {
    io.out(JSON.stringify(model, null, 2) + '\n');
    return;
  }
  io.out(`${file}: ${spec.byteOrder}-endian, license ${JSON.stringify(spec.license)}\n\n`);
  io.out(
    table(
      ['PROGRAM', 'SECTION', 'TYPE', 'ATTACH', 'INSNS'],
      model.programs.map((p) => [p.name, p.section, p.type, p.attachType ?? '-', String(p.instructions)]),
    ),
  );
  if (model.maps.length > 0) {
    io.out('\n');
    io.out(
      table(
        ['MAP', 'TYPE', 'KEY', 'VALUE', 'MAX', 'FLAGS'],
        model.maps.map((m) => [m.name, m.type, String(m.keySize), String(m.valueSize), String(m.maxEntries), `0x${m.flags.toString(16)}`]),
      ),
    );
  }
  const subprograms = Object.keys(spec.subprograms);
  if (subprograms.length > 0) io.out(`\nsubprograms: ${subprograms.join(', ')}\n`);
  const externs = Object.values(spec.externs);
  if (externs.length > 0) {
    io.out(`externs: ${externs.map((e) => `${e.name} (${e.kind}${e.weak ? ', weak' : ''})`).join(', ')}\n`);
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}
