/**
 * tsbpf against cilium/ebpf and libbpf on objects nobody on this project
 * wrote: cilium/ebpf's testdata/*.elf and btf/testdata/*.elf (both byte
 * orders), from the Go module at the version test/peers/cilium/go.mod pins.
 *
 * 1. Parse: programs (name, section, type, attach type, instructions and what
 *    each reference points at) and maps (type, sizes, flags, pinning, inner
 *    map) against cilium/ebpf's CollectionSpec, every object.
 * 2. Load (little-endian objects, root): each program on its own with tsbpf,
 *    cilium/ebpf and libbpf 1.1 (where it opens the object); the outcomes
 *    must agree, and `bpftool prog dump xlated` of what loaded on more than
 *    one side must be identical.
 *
 * Every disagreement must be listed below with its reason; an unlisted one
 * fails, and so does a listed one that no longer happens (the list stays true).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCollection } from '@tsbpf/loader';
import { calculateCoreRelos, formatInstructions, linkProgram, parseCollectionSpec, type CollectionSpec } from '@tsbpf/object';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot } from '../support/env.js';
import { ciliumLoad, ciliumPeer, ciliumSpec, type CiliumPeer } from './support/cilium-peer.js';
import { compareWithCilium } from './support/compare-spec.js';
import { firstDifference, xlatedOf } from './support/xlated.js';

interface Known {
  readonly match: RegExp;
  readonly reason: string;
}

/** Where tsbpf's parse and cilium/ebpf's differ, and why. */
const KNOWN_PARSE: readonly Known[] = [
  {
    match: /^kconfig-e[lb]\.elf: prog kconfig: insn 1: refers to LINUX_KERNEL_VERSION vs nothing$/,
    reason:
      'cilium/ebpf turns a __kconfig reference into a load from its .kconfig map while parsing (instruction metadata, no named reference); tsbpf keeps the reference to the extern and resolves it at load',
  },
  {
    match: /^invalid_btf_map_init-e[lb]\.elf: open: cilium refuses, tsbpf opens$/,
    reason: 'a non-zero byte in a .maps definition (`.key = (void *)1`): libbpf opens it too (it reads only the BTF); cilium/ebpf refuses',
  },
  {
    match: /^(loader-clang-\d+|loader_nobtf)-e[lb]\.elf: open: tsbpf refuses \(PROGRAM_INVALID\), cilium opens$/,
    reason:
      'a static function in a program section (static_fn in SEC("static")): libbpf refuses the object too ("program \'static_fn\' is static and not supported"); cilium/ebpf lists it',
  },
  {
    match: /^constants-e[lb]\.elf: prog freeze_rodata: (type 0 \(unspec\) vs 30|attach type undefined \(undefined\) vs 36)$/,
    reason: 'SEC("sk_lookup/"): libbpf (1.1 and current) matches "sk_lookup" exactly, so the program type is unknown (unspec); cilium/ebpf matches the prefix',
  },
  {
    match: /^invalid_map_static-e[lb]\.elf: open: cilium refuses, tsbpf opens$/,
    reason:
      "a static legacy map, referenced through the maps section's symbol: tsbpf finds the map defined at that offset (libbpf matches legacy maps by section offset too); cilium/ebpf refuses a reference without a map symbol",
  },
  {
    match: /^(constants|relocs_read_tgt|tags|variables)-e[lb]\.elf: map \.(bss|data[.\w]*|rodata): flags (1024|1152) vs (0|128)$/,
    reason: 'cilium/ebpf adds BPF_F_MMAPABLE to global-data maps when it creates them, not in the spec; tsbpf says in the spec what it will create',
  },
];

/** Where the loaders' outcomes or code differ, and why. */
const KNOWN_LOAD: readonly Known[] = [
  {
    match: /^relocs-el\.elf (type_ids|err_ambiguous|err_ambiguous_flavour): tsbpf loads, cilium and libbpf fail$/,
    reason:
      'type-based CO-RE relocations (bpf_core_type_id_kernel) of types this kernel lacks: libbpf resolves them to 0 (relo_core.c: "type-based relos return zero when target type is not found") and so does tsbpf, so the program loads; cilium/ebpf poisons them; libbpf 1.1 here refuses SEC("socket/<name>") before CO-RE (these programs are written to be relocated against their own BTF, as cilium/ebpf\'s tests do)',
  },
  {
    match:
      /^kconfig-el\.elf kconfig: xlated differs from cilium: line \d+: +\d+: \(18\) r1 = map\[\.kconfig\]\[0\]\+\d+ \| +\d+: \(18\) r1 = map\[\.kconfig\]\[0\]\+\d+$/,
    reason:
      "the .kconfig map's layout: libbpf and tsbpf order the slots by alignment, then size, then name (identical to libbpf's code); cilium/ebpf keeps the DATASEC's order. Each program reads the same value",
  },
  {
    match: /^linked-el\.elf entry_(l1|l1_s|l1_w|l2|ww): xlated differs from cilium: line \d+: .*$/,
    reason:
      "linked-el.elf (bpftool gen object output, symbols out of offset order): tsbpf takes each program's code at its ELF symbol's value and size, which the object's line info and call relocations agree with (entry_l2 at 0 calls l2); cilium/ebpf loads under each name the code of another symbol (its entry_l2 calls ww); libbpf 1.1 cannot open the object (legacy maps)",
  },
  {
    match: /^kfunc-el\.elf call_weak_kfunc: xlated differs from cilium: line \d+: +\d+: \(18\) r1 = 0xffffffff[0-9a-f]+ \| +\d+: \(18\) r1 = 0x[0-9a-f]+$/,
    reason:
      "bpf_ksym_exists(kfunc): libbpf and tsbpf pass the kfunc's BTF id as BPF_PSEUDO_BTF_ID, which the kernel turns into the function's address; cilium/ebpf writes the BTF id as a plain constant (both are non-zero: the program's logic is the same); identical to libbpf's",
  },
];

const CORPORA = [
  { name: 'cilium/ebpf testdata', dir: 'testdata' },
  { name: 'cilium/ebpf btf/testdata', dir: 'btf/testdata' },
];

let peer: CiliumPeer;
const objects = (dir: string) =>
  readdirSync(join(peer.moduleDir, dir))
    .filter((f) => f.endsWith('.elf'))
    .sort();

function openOurs(path: string): CollectionSpec | Error {
  try {
    return parseCollectionSpec(readFileSync(path));
  } catch (e) {
    return e as Error;
  }
}

/** Compares found disagreements with the known ones: nothing unexplained, nothing stale. */
function checkExplained(found: readonly string[], known: readonly Known[]): void {
  const unexplained = found.filter((d) => !known.some((k) => k.match.test(d)));
  const stale = known.filter((k) => !found.some((d) => k.match.test(d))).map((k) => `${k.match} (${k.reason})`);
  expect({ unexplained, stale }).toEqual({ unexplained: [], stale: [] });
}

interface Row {
  corpus: string;
  objects: number;
  parseAgree: number;
  tried: number;
  programs: number;
  loadAgree: number;
  xlatedCompared: number;
  xlatedIdentical: number;
}
const rows = new Map<string, Row>();
const row = (corpus: string) =>
  rows.get(corpus) ??
  rows.set(corpus, { corpus, objects: 0, parseAgree: 0, tried: 0, programs: 0, loadAgree: 0, xlatedCompared: 0, xlatedIdentical: 0 }).get(corpus)!;

afterAll(() => {
  if (rows.size === 0) return;
  const lines = [
    '| corpus | objects | parse agrees | programs tried (LE) | loaded by tsbpf | outcomes agree | xlated compared | identical |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows.values())
    lines.push(`| ${r.corpus} | ${r.objects} | ${r.parseAgree} | ${r.tried} | ${r.programs} | ${r.loadAgree} | ${r.xlatedCompared} | ${r.xlatedIdentical} |`);
  console.log(`peer corpus (cilium/ebpf ${peer?.version}):\n${lines.join('\n')}`);
});

describeNeeds([hasCommand('go')], 'cilium/ebpf corpus: parse', () => {
  beforeAll(() => {
    peer = ciliumPeer();
  }, 600_000);

  it('every object parses as cilium/ebpf parses it, or the difference is known', () => {
    const found: string[] = [];
    for (const corpus of CORPORA) {
      for (const f of objects(corpus.dir)) {
        const path = join(peer.moduleDir, corpus.dir, f);
        const ours = openOurs(path);
        const diffs = compareWithCilium(ours, ciliumSpec(peer, path));
        // Disassembly (what `tsbpf objdump` prints) of every function of every byte order.
        if (!(ours instanceof Error)) {
          for (const p of [...Object.values(ours.programs), ...Object.values(ours.subprograms)]) {
            expect(formatInstructions(p.instructions, { byteOrder: ours.byteOrder, lineInfo: p.lineInfo }).length, `${f} ${p.name}`).toBeGreaterThan(0);
          }
        }
        const r = row(corpus.name);
        r.objects++;
        if (diffs.length === 0) r.parseAgree++;
        found.push(...diffs.map((d) => `${f}: ${d}`));
      }
    }
    checkExplained(found, KNOWN_PARSE);
  });
});

describeNeeds([hasCommand('go')], "cilium/ebpf corpus: CO-RE against the object's own BTF", () => {
  beforeAll(() => {
    peer ??= ciliumPeer();
  }, 600_000);

  // cilium/ebpf's relocs.c is written to be relocated against its own BTF: there,
  // `struct ambiguous` has a flavour (`ambiguous___flavour`) of another layout,
  // which libbpf reports as an ambiguity rather than pick one.
  it('relocs.c: every program relocates, and the ambiguous ones are reported as ambiguous', () => {
    for (const order of ['el', 'eb']) {
      const spec = parseCollectionSpec(readFileSync(join(peer.moduleDir, 'btf', 'testdata', `relocs-${order}.elf`)));
      const relocate = (name: string) => calculateCoreRelos(spec.btf!, spec.btf!, linkProgram(spec, name).coreRelos);
      for (const name of ['type_ids', 'types', 'enums', 'fields']) {
        const results = relocate(name);
        expect(results.length, name).toBeGreaterThan(0);
        expect(
          results.filter((r) => r.poison !== undefined),
          name,
        ).toEqual([]);
      }
      expect(() => relocate('err_ambiguous')).toThrow(/candidates disagree/);
      expect(() => relocate('err_ambiguous_flavour')).toThrow(/candidates disagree/);
    }
  });
});

const pinRoot = `/sys/fs/bpf/tsbpf-peers-${process.pid}`;

describeNeeds([isRoot(), hasCommand('go'), hasCommand('bpftool'), hasCHelper('libbpf-load'), hasFile('/sys/fs/bpf')], 'cilium/ebpf corpus: load', () => {
  beforeAll(() => {
    peer ??= ciliumPeer();
  }, 600_000);
  afterAll(() => rmSync(pinRoot, { recursive: true, force: true }));

  it('each program loads where the peers load it, with identical xlated code', () => {
    const found: string[] = [];
    for (const corpus of CORPORA) {
      for (const f of objects(corpus.dir).filter((x) => x.endsWith('-el.elf'))) {
        const path = join(peer.moduleDir, corpus.dir, f);
        const ours = openOurs(path);
        if (ours instanceof Error) continue; // a parse disagreement, reported above
        const dir = join(pinRoot, f.replace(/\W/g, '_'));
        for (const side of ['tsbpf', 'cilium', 'libbpf']) mkdirSync(join(dir, side), { recursive: true });
        const cilium = ciliumLoad(peer, path, join(dir, 'cilium'));
        const libbpf = JSON.parse(execFileSync(cHelperPath('libbpf-load'), [path, join(dir, 'libbpf')], { encoding: 'utf8' })) as {
          open: string;
          programs: Record<string, string>;
        };
        const r = row(corpus.name);
        for (const name of Object.keys(ours.programs)) {
          let why = '';
          try {
            using c = loadCollection(ours, { programs: [name] });
            c.programs[name]!.pin(join(dir, 'tsbpf', name));
          } catch (e) {
            why = (e as Error).message;
          }
          const peers: [string, string | undefined][] = [
            ['cilium', cilium.error === undefined ? cilium.programs[name] : undefined],
            ['libbpf', libbpf.open === '' ? libbpf.programs[name] : undefined],
          ];
          const tried = peers.filter(([, w]) => w !== undefined) as [string, string][];
          const loaded = tried.filter(([, w]) => w === '').map(([p]) => p);
          const at = `${f} ${name}`;
          r.tried++;
          let agree = true;
          if (why !== '' && loaded.length > 0) {
            found.push(`${at}: tsbpf fails (${why.slice(0, 120)}), ${loaded.join(' and ')} load${loaded.length === 1 ? 's' : ''}`);
            agree = false;
          }
          if (why === '' && tried.length > 0 && loaded.length === 0) {
            found.push(`${at}: tsbpf loads, ${tried.map(([p]) => p).join(' and ')} fail${tried.length === 1 ? 's' : ''}`);
            agree = false;
          }
          if (agree) r.loadAgree++;
          if (why !== '') continue;
          r.programs++;
          const mine = xlatedOf(join(dir, 'tsbpf', name));
          for (const p of loaded) {
            r.xlatedCompared++;
            const theirs = xlatedOf(join(dir, p, name));
            if (mine === theirs) r.xlatedIdentical++;
            else found.push(`${at}: xlated differs from ${p}: ${firstDifference(mine, theirs)}`);
          }
        }
        rmSync(dir, { recursive: true, force: true });
      }
    }
    checkExplained(found, KNOWN_LOAD);
  });
});
