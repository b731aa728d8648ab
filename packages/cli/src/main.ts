/** The `tsbpf` command: its subcommands and options (commander), and `main`, which runs one. */
import { Command, CommanderError, Option } from 'commander';
import { attachCommand, type AttachOptions } from './commands/attach.js';
import { btfDump, type BtfFormat } from './commands/btf-dump.js';
import { build, type BuildOptions } from './commands/build.js';
import { loadCommand, runCommand } from './commands/load.js';
import { gen, type GenFlags } from './commands/gen.js';
import { inspect } from './commands/inspect.js';
import { objdump } from './commands/objdump.js';
import { registerKernelCommands } from './commands/kernel-commands.js';
import { CliError, reportFailure } from './errors.js';
import { processIo, type CliIo } from './io.js';

const VERSION = '0.1.0';

function buildProgram(io: CliIo): Command {
  const program = new Command('tsbpf')
    .description('eBPF toolchain for TypeScript and Node.js')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  const btf = program.command('btf').description('BTF type information');
  btf
    .command('dump')
    .description("print the types of raw BTF (e.g. /sys/kernel/btf/vmlinux) or of an ELF object's .BTF")
    .argument('<file>', 'raw BTF or BPF ELF object')
    .addOption(new Option('--format <format>', 'output format').choices(['raw', 'c', 'json']).default('raw'))
    .option('--base <file>', 'base BTF of split BTF (default for /sys/kernel/btf/<module>: vmlinux)')
    .action((file: string, opts: { format: BtfFormat; base?: string }) => btfDump(io, file, opts.format, opts.base));

  program
    .command('inspect')
    .description('list the programs and maps of a BPF object')
    .argument('<obj>', 'BPF ELF object')
    .option('--json', 'machine-readable output')
    .action((obj: string, opts: { json?: boolean }) => inspect(io, obj, opts.json === true));

  program
    .command('objdump')
    .description('disassemble the programs of a BPF object, with source lines')
    .argument('<obj>', 'BPF ELF object')
    .option('--program <name>', 'only this program (or subprogram)')
    .action((obj: string, opts: { program?: string }) => objdump(io, obj, opts.program));

  const collect = (v: string, prev: string[]) => [...prev, v];
  program
    .command('load')
    .description("load an object's programs and maps, pinning each program at DIR/<name> (like bpftool prog loadall)")
    .argument('<obj>', 'BPF ELF object')
    .requiredOption('--pin <dir>', 'bpffs directory for the program pins')
    .option('--program <name>', 'only this program (repeatable)', collect, [])
    .option('--pin-maps <dir>', "also pin every map at DIR/<map name> (like bpftool's pinmaps), so prog-array slots and map contents outlive the command")
    .option('--verbose', 'print the whole verifier log on a rejection')
    .action((obj: string, opts: { pin: string; pinMaps?: string; program: string[]; verbose?: boolean }) => loadCommand(io, obj, opts));

  program
    .command('gen')
    .description('TypeScript bindings for an object (typed maps, programs, globals, ring buffers), like bpf2go')
    .argument('<obj>', 'BPF ELF object')
    .option('-o, --output <file.ts>', 'write here instead of stdout')
    .option('--record <map=struct>', 'the record type of a ring buffer (default: the unused_<map> convention)', collect, [])
    .option('--typedef <name=codec>', 'read types behind this typedef with a built-in codec (e.g. ipv4_addr=ipv4)', collect, [])
    .option('--camel-case', 'struct members in camelCase (endpoint_id: endpointId)')
    .option('--no-embed', 'types and codecs only: no embedded object, no load()')
    .action((obj: string, opts: GenFlags) => gen(io, obj, opts));

  program
    .command('run')
    .description('run a program once or more with BPF_PROG_TEST_RUN')
    .argument('<obj>', 'BPF ELF object')
    .requiredOption('--program <name>', 'the program to run')
    .option('--data-in <file>', 'packet (or context data) to run on (default: 64 zero bytes)')
    .option('--repeat <n>', 'runs (the kernel reports the average time)')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'print the whole verifier log on a rejection')
    .action((obj: string, opts: { program: string; dataIn?: string; repeat?: string; json?: boolean; verbose?: boolean }) => runCommand(io, obj, opts));

  program
    .command('attach')
    .description('attach a program and print the records of its ring buffers and perf event arrays, decoded from BTF, until Ctrl-C')
    .argument('<obj>', 'BPF ELF object')
    .requiredOption('--program <name>', 'the program to attach')
    .option(
      '--to <target>',
      'where: an interface (xdp, tcx), a cgroup directory, a netns path, BINARY:FUNC (uprobe), a kernel function (kprobe), a syscall (ksyscall), a glob (kprobe.multi), CATEGORY/NAME (tracepoint)',
    )
    .option('--map <name>', 'print only these ring buffers / perf event arrays (repeatable; default: all the program uses)', collect, [])
    .option('--type <struct>', 'the BTF struct of the records (default: the `unused_<map>` pointer global)')
    .option('--json', 'one JSON object per record')
    .option('--verbose', 'print the whole verifier log on a rejection')
    .action((obj: string, opts: AttachOptions) => attachCommand(io, obj, opts));

  program
    .command('build')
    .description('compile BPF C sources with clang (cached, in parallel)')
    .argument('<src...>', '.bpf.c sources')
    .option('-o, --output <file>', 'the object (one source only)')
    .option('--out-dir <dir>', 'directory for the objects (default: next to each source)')
    .option('-I, --include <dir>', 'add an include directory', collect, [])
    .option('-D, --define <name[=value]>', 'define a macro', collect, [])
    .option('--vmlinux', "generate vmlinux.h from this kernel's BTF and put it on the include path")
    .addOption(new Option('--target <target>', 'BPF target (default: host byte order)').choices(['bpfel', 'bpfeb', 'bpf']))
    .option('--json', 'results and diagnostics as JSON on stdout')
    .option('--no-cache', 'always run clang')
    .action(async (srcs: string[], opts: BuildOptions) => {
      const code = await build(io, srcs, opts);
      if (code !== 0) throw new CliError('', code, 'REPORTED');
    });

  registerKernelCommands(program, btf, io);

  return program;
}

/**
 * Runs the CLI in-process; returns the exit code instead of exiting. Every
 * failure is printed here (a TsbpfError as `tsbpf: <message>`, exit 1; any
 * other error as an internal error with its stack, exit 2): it never throws.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    return reportFailure(e, io.err);
  }
}
