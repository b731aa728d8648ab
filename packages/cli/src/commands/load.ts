/**
 * `tsbpf load` and `tsbpf run`: an object into the kernel through the loader, its
 * programs (and maps) pinned, or one program test-run; loader failures printed as
 * the user's errors, a verifier rejection like a compiler error.
 */
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TsbpfError, VerifierError, formatVerifierError, loadCollection, type Collection } from '@tsbpf/loader';
import { CliError, readInput, type CliIo } from '../io.js';
import { parseObjectFile } from './inspect.js';

function load(io: CliIo, file: string, programs: string[] | undefined, verbose: boolean): Collection {
  const spec = parseObjectFile(file);
  try {
    return loadCollection(spec, { programs: programs && programs.length > 0 ? programs : undefined });
  } catch (e) {
    if (e instanceof VerifierError) {
      io.err(formatVerifierError(e, { verbose }));
      throw new CliError('', 1);
    }
    // The loader's typed failures are the user's to read, not internal errors.
    if (TsbpfError.is(e)) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
}

/** `tsbpf load OBJ --pin DIR [--pin-maps DIR]`: like `bpftool prog loadall [pinmaps]`, programs pinned at DIR/<name>, maps at MAPDIR/<name>. */
export function loadCommand(io: CliIo, file: string, opts: { pin: string; pinMaps?: string; program?: string[]; verbose?: boolean }): void {
  pinDirectory(opts.pin);
  if (opts.pinMaps !== undefined) pinDirectory(opts.pinMaps);
  const c = load(io, file, opts.program, opts.verbose ?? false);
  try {
    for (const [name, p] of Object.entries(c.programs)) {
      p.pin(join(opts.pin, name));
      io.out(`${join(opts.pin, name)}\n`);
    }
    if (opts.pinMaps !== undefined) {
      for (const [name, m] of Object.entries(c.maps)) {
        // bpffs refuses names with a dot: `.rodata` is pinned as `_rodata`, as libbpf sanitises pin paths.
        const path = join(opts.pinMaps, name.replaceAll('.', '_'));
        m.pin(path);
        io.out(`${path}\n`);
      }
    }
  } catch (e) {
    if (TsbpfError.is(e)) throw new CliError(e.message);
    throw e;
  } finally {
    // The pins keep the programs (and their maps) loaded; our fds can go.
    c.close();
  }
}

/** `tsbpf run OBJ --program NAME`: BPF_PROG_TEST_RUN. */
export function runCommand(io: CliIo, file: string, opts: { program: string; dataIn?: string; repeat?: string; json?: boolean; verbose?: boolean }): void {
  const repeat = opts.repeat === undefined ? 1 : Number(opts.repeat);
  // The kernel takes a u32: a larger number would silently wrap (4294967297 runs once).
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 0xffffffff)
    throw new CliError(`--repeat must be an integer from 1 to 4294967295, not ${opts.repeat}`, 1, 'USAGE');
  const data = opts.dataIn ? readInput(opts.dataIn) : new Uint8Array(64);
  const c = load(io, file, [opts.program], opts.verbose ?? false);
  try {
    const r = c.programs[opts.program]!.testRun({ data, repeat });
    if (opts.json) {
      io.out(
        JSON.stringify({ program: opts.program, retval: r.retval, durationNs: r.durationNs, repeat, dataOut: Buffer.from(r.data).toString('hex') }) + '\n',
      );
    } else {
      io.out(`${opts.program}: return value ${r.retval}, ${r.durationNs} ns per run (${repeat} run${repeat === 1 ? '' : 's'})\n`);
    }
  } catch (e) {
    if (TsbpfError.is(e)) throw new CliError(e.message);
    throw e;
  } finally {
    c.close();
  }
}

const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Makes a pin directory, which must be on a bpffs mount: checked on its
 * nearest existing ancestor first (Node's recursive mkdir never returns for
 * a path under /proc), then made, a failure being the user's to read.
 */
function pinDirectory(dir: string): void {
  let existing = resolve(dir);
  while (!existsSync(existing)) existing = dirname(existing);
  let type: number;
  try {
    type = statfsSync(existing).type;
  } catch (e) {
    throw CliError.io('OUTPUT_UNWRITABLE', dir, e);
  }
  if (type !== BPF_FS_MAGIC) throw new CliError(`${dir}: not on a bpffs mount (pins live under /sys/fs/bpf)`, 1, 'OUTPUT_UNWRITABLE');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw CliError.io('OUTPUT_UNWRITABLE', dir, e);
  }
}
