/** `tsbpf btf dump`: the types of raw BTF or of an object's .BTF, as bpftool prints them, as C or as JSON. */
import { Btf, formatBtfC, formatBtfJson, formatBtfRaw, parseObjectBtf, withContext } from '@tsbpf/object';
import { readKernelBtfBytes } from '@tsbpf/loader';
import { CliError, readInput, type CliIo } from '../io.js';

export type BtfFormat = 'raw' | 'c' | 'json';

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

const SYSFS_BTF = '/sys/kernel/btf/';
const VMLINUX = '/sys/kernel/btf/vmlinux';

/**
 * Raw BTF (/sys/kernel/btf/*) or an ELF object's `.BTF`. Split BTF (a kernel
 * module's) needs its base: given with `base`, or vmlinux for a module file
 * under /sys/kernel/btf/, as bpftool does.
 */
export function loadBtf(path: string, basePath?: string): Btf {
  if (basePath === undefined && path.startsWith(SYSFS_BTF) && path !== VMLINUX) basePath = VMLINUX;
  const base = basePath === undefined ? undefined : loadBtf(basePath);
  // Kernel BTF is mapped rather than read page by page where the kernel allows it.
  const bytes = path.startsWith(SYSFS_BTF) ? readKernelBtf(path) : readInput(path);
  return withContext(path, () => {
    if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
      // Only the .BTF section: its types are worth showing whatever the rest of the object holds.
      const btf = parseObjectBtf(bytes);
      if (!btf) throw new CliError('the object has no .BTF section', 1, 'NO_BTF');
      return btf;
    }
    return Btf.parse(bytes, { base });
  });
}

function readKernelBtf(path: string): Uint8Array {
  try {
    return readKernelBtfBytes(path);
  } catch (e) {
    throw CliError.io('INPUT_UNREADABLE', path, e);
  }
}

export function btfDump(io: CliIo, file: string, format: BtfFormat, basePath?: string): void {
  const btf = loadBtf(file, basePath);
  switch (format) {
    case 'raw':
      io.out(formatBtfRaw(btf));
      return;
    case 'json':
      io.out(formatBtfJson(btf) + '\n');
      return;
    case 'c':
      io.out(formatBtfC(btf));
      return;
  }
}
