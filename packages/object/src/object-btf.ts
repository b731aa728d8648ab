/**
 * The `.BTF` of an ELF object, and nothing else of it: what `tsbpf btf dump
 * OBJ` needs, so that an object whose maps, programs or externs the parser
 * refuses still shows its types when its BTF is valid.
 */
import { Btf } from './btf/index.js';
import { plainBytes } from './bytes.js';
import { readElf } from './elf/elf-file.js';
import { ObjectParseError } from './errors.js';

/** The object's BTF (a copy of its bytes), or undefined when it has no `.BTF` section. */
export function parseObjectBtf(bytes: Uint8Array): Btf | undefined {
  try {
    const section = readElf(plainBytes(bytes)).sectionByName('.BTF');
    return section ? Btf.parse(section.copy()) : undefined;
  } catch (e) {
    if (e instanceof ObjectParseError) throw e;
    throw new ObjectParseError('ELF_INVALID', `malformed object: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}
