import { Btf, ObjectParseError, formatBtfJson, formatBtfRaw, parseCollectionSpec } from '@tsbpf/object';
import { CliError, readInput, type CliIo } from '../io.js';

export type BtfFormat = 'raw' | 'c' | 'json';

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** Raw BTF (/sys/kernel/btf/*) or an ELF object's `.BTF`. */
export function loadBtf(path: string): Btf {
  const bytes = readInput(path);
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const spec = parseCollectionSpec(bytes, { unknownSections: 'ignore' });
    if (!spec.btf) throw new CliError(`${path}: the object has no .BTF section`);
    return spec.btf;
  }
  return Btf.parse(bytes);
}

export function btfDump(io: CliIo, file: string, format: BtfFormat): void {
  let btf: Btf;
  try {
    btf = loadBtf(file);
  } catch (e) {
    if (e instanceof ObjectParseError) throw new CliError(`${file}: ${e.message} [${e.code}]`);
    throw e;
  }
  switch (format) {
    case 'raw':
      io.out(formatBtfRaw(btf));
      return;
    case 'json':
      io.out(JSON.stringify(formatBtfJson(btf)) + '\n');
      return;
    case 'c':
      throw new CliError('--format c (vmlinux.h generation) is not available yet; it comes with @tsbpf/compiler');
  }
}
