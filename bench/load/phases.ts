// bench/load/phases: each phase of tsbpf's open + load + close of a small
// object timed separately in one process (mean µs over N loads after
// warm-up), to find where it adds time over libbpf. Run with
// `node bench/load/phases.mjs` (bundles this file with esbuild first).
import { readFileSync } from 'node:fs';
import {
  Btf,
  btfForKernel,
  funcInfoBytes,
  lineInfoBytes,
  linkProgram,
  parseBtfExt,
  parseCollectionSpec,
  relocateProgram,
} from '../../packages/object/src/index.js';
import { readElf } from '../../packages/object/src/elf/elf-file.js';
import { readSymbols } from '../../packages/object/src/elf/symbols.js';
import { readRelocations } from '../../packages/object/src/elf/relocations.js';
import { loadCollection } from '../../packages/loader/src/index.js';
import * as sys from '../../packages/loader/src/sys/bpf.js';
import { scratch } from '../../packages/loader/src/sys/native-pools.js';

const OBJ = process.env.OBJ ?? new URL('../../fixtures/out/minimal.bpf.o', import.meta.url).pathname;
const N = Number(process.env.N ?? 20000);
const WARMUP = Number(process.env.WARMUP ?? 3000);
const acc: Record<string, bigint> = {};
function t<T>(name: string, f: () => T): T {
  const s = process.hrtime.bigint();
  const r = f();
  acc[name] = (acc[name] ?? 0n) + (process.hrtime.bigint() - s);
  return r;
}

function once(): void {
  const bytes = t('read file', () => readFileSync(OBJ));
  const elf = t('ELF header + sections', () => readElf(bytes));
  const symbols = t('symbols', () => readSymbols(elf));
  t('ELF relocations', () => readRelocations(elf, symbols));
  const btfSec = elf.sectionByName('.BTF')!;
  const btf = t('BTF parse (with copy)', () => Btf.parse(btfSec.data.slice()));
  const ext = elf.sectionByName('.BTF.ext');
  if (ext) t('BTF.ext parse', () => parseBtfExt(ext.data, btf));
  const spec = t('parseCollectionSpec (all)', () => parseCollectionSpec(bytes));
  const { bytes: kbtf } = t('btfForKernel', () => btfForKernel(spec));
  const btfFd = t('BTF_LOAD (attr + syscall)', () => {
    const mark = scratch.begin();
    try {
      return sys.btfLoad(scratch.copy(kbtf));
    } finally {
      scratch.end(mark);
    }
  });
  sys.closeFd(btfFd);
  const name = Object.keys(spec.programs)[0]!;
  const linked = t('linkProgram', () => linkProgram(spec, name));
  t('relocateProgram', () => relocateProgram(spec, linked, { mapFds: new Map(), btfFd: undefined } as never));
  t('funcInfo + lineInfo bytes', () => (funcInfoBytes(linked, spec.byteOrder), lineInfoBytes(linked, spec.byteOrder)));
  const c = t('loadCollection (all)', () => loadCollection(spec));
  t('close', () => c.close());
}

for (let i = 0; i < WARMUP; i++) once();
for (const k of Object.keys(acc)) acc[k] = 0n;
for (let i = 0; i < N; i++) once();
for (const [k, v] of Object.entries(acc)) console.log(`${k.padEnd(28)} ${(Number(v) / N / 1000).toFixed(2)} us`);
