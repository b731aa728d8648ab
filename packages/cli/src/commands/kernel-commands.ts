/**
 * The commands on what the kernel has loaded, registered with commander:
 * `prog`, `map`, `link`, `btf list`, `top` and `ui` (each command's work is
 * in its own file; this one only says how it is called).
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { btfList, linkDetach, linkList, linkShow } from './link.js';
import { mapDelete, mapDump, mapList, mapLookup, mapShow, mapUpdate, type MapDumpOptions } from './map.js';
import { progDumpJited, progDumpXlated, progList, progShow, type KernelListOptions } from './prog.js';
import { top, type TopOptions } from './top.js';
import { ui, type UiOptions } from './ui.js';

export function registerKernelCommands(program: Command, btf: Command, io: CliIo): void {
  const listing = (c: Command) => c.option('--json', "JSON (bpftool -j's fields, then tsbpf's own)").option('--pretty', 'indented JSON');

  const prog = program.command('prog').description('programs loaded in the kernel, by anyone (like bpftool prog)');
  listing(prog.command('list').description('every program, with its statistics')).action((o: KernelListOptions) => progList(io, o));
  listing(prog.command('show').description('one program').argument('<id...>', 'ID or id ID')).action((w: string[], o: KernelListOptions) => progShow(io, w, o));
  const dump = prog.command('dump').description("a program's code");
  dump
    .command('xlated')
    .description('the instructions as the verifier left them, disassembled with source lines')
    .argument('<id...>', 'ID or id ID')
    .option('-o, --output <file>', 'write the raw instructions to FILE')
    .option('--json', 'machine-readable output')
    .action((w: string[], o: { output?: string; json?: boolean }) => progDumpXlated(io, w, o));
  dump
    .command('jited')
    .description('the machine code, per function, as hex')
    .argument('<id...>', 'ID or id ID')
    .option('-o, --output <file>', 'write the raw machine code to FILE')
    .option('--json', 'machine-readable output')
    .action((w: string[], o: { output?: string; json?: boolean }) => progDumpJited(io, w, o));

  const map = program.command('map').description('maps in the kernel, by anyone, read as typed values through their BTF (like bpftool map)');
  listing(map.command('list').description('every map')).action((o: KernelListOptions) => mapList(io, o));
  listing(map.command('show').description('one map').argument('<id...>', 'ID or id ID')).action((w: string[], o: KernelListOptions) => mapShow(io, w, o));
  listing(map.command('dump').description('every element, decoded through the map BTF').argument('<id...>', 'ID or id ID'))
    .option('--limit <n>', 'at most N elements')
    .action((w: string[], o: MapDumpOptions) => mapDump(io, w, o));
  map
    .command('lookup')
    .description('the value under a key')
    .argument('<id...>', 'ID or id ID')
    .requiredOption('--key <json>', 'the key as JSON (a number, an object of members; hex text for raw bytes)')
    .option('--json', 'key and value as one JSON object')
    .action((w: string[], o: { key?: string; json?: boolean }) => mapLookup(io, w, o));
  map
    .command('update')
    .description('write a value under a key')
    .argument('<id...>', 'ID or id ID')
    .requiredOption('--key <json>', 'the key as JSON')
    .requiredOption('--value <json>', 'the value as JSON (per-CPU maps: one value for every CPU, or an array)')
    .option('--flags <any|noexist|exist>', 'insert or replace (any), insert only, replace only')
    .action((w: string[], o: { key?: string; value?: string; flags?: string }) => mapUpdate(io, w, o));
  map
    .command('delete')
    .description('delete the element under a key')
    .argument('<id...>', 'ID or id ID')
    .requiredOption('--key <json>', 'the key as JSON')
    .action((w: string[], o: { key?: string }) => mapDelete(io, w, o));

  const link = program.command('link').description('BPF links in the kernel and what they attach to (like bpftool link)');
  listing(link.command('list').description('every link')).action((o: KernelListOptions) => linkList(io, o));
  listing(link.command('show').description('one link').argument('<id...>', 'ID or id ID')).action((w: string[], o: KernelListOptions) => linkShow(io, w, o));
  link
    .command('detach')
    .description('detach the program of a link (BPF_LINK_DETACH), even a pinned one')
    .argument('<id...>', 'ID or id ID')
    .action((w: string[]) => linkDetach(io, w));

  listing(btf.command('list').description('every BTF object in the kernel and the programs and maps using it')).action((o: KernelListOptions) =>
    btfList(io, o),
  );

  program
    .command('top')
    .description('a live table of BPF programs by CPU share (statistics on while it runs)')
    .option('--interval <seconds>', 'redraw every N seconds (default 1)')
    .option('--sort <column>', 'cpu, runs, avg, total, id or name (keys c r a t i n while it runs)')
    .option('--iterations <n>', 'stop after N frames')
    .action((o: TopOptions) => top(io, o));

  program
    .command('ui')
    .description('a live inspector in the browser: programs, maps and links with their costs, map contents, ring buffer records')
    .option('--port <port>', 'port on 127.0.0.1 (default: any free one)')
    .option('--interval <seconds>', 'statistics refresh (default 1)')
    .action((o: UiOptions) => ui(io, o));
}
