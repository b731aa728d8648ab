import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BtfLoadError, LoaderError, MapIncompatibleError, NotSupportedError, SyscallError, VerifierError, formatVerifierError, loadCollection, type Collection } from '@tsbpf/loader';
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
    const typed = [SyscallError, NotSupportedError, LoaderError, MapIncompatibleError, BtfLoadError];
    if (typed.some((t) => e instanceof t)) throw new CliError(`${file}: ${(e as Error).message}`);
    throw e;
  }
}

/** `tsbpf load OBJ --pin DIR [--pin-maps DIR]`: like `bpftool prog loadall [pinmaps]`, programs pinned at DIR/<name>, maps at MAPDIR/<name>. */
export function loadCommand(io: CliIo, file: string, opts: { pin: string; pinMaps?: string; program?: string[]; verbose?: boolean }): void {
  const c = load(io, file, opts.program, opts.verbose ?? false);
  try {
    mkdirSync(opts.pin, { recursive: true });
    for (const [name, p] of Object.entries(c.programs)) {
      p.pin(join(opts.pin, name));
      io.out(`${join(opts.pin, name)}\n`);
    }
    if (opts.pinMaps !== undefined) {
      mkdirSync(opts.pinMaps, { recursive: true });
      for (const [name, m] of Object.entries(c.maps)) {
        // bpffs refuses names with a dot: `.rodata` is pinned as `_rodata`, as libbpf sanitises pin paths.
        const path = join(opts.pinMaps, name.replaceAll('.', '_'));
        m.pin(path);
        io.out(`${path}\n`);
      }
    }
  } catch (e) {
    if (e instanceof SyscallError) throw new CliError(e.message);
    throw e;
  } finally {
    // The pins keep the programs (and their maps) loaded; our fds can go.
    c.close();
  }
}

/** `tsbpf run OBJ --program NAME`: BPF_PROG_TEST_RUN. */
export function runCommand(
  io: CliIo,
  file: string,
  opts: { program: string; dataIn?: string; repeat?: string; json?: boolean; verbose?: boolean },
): void {
  const repeat = opts.repeat === undefined ? 1 : Number(opts.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new CliError(`--repeat must be a positive integer, not ${opts.repeat}`);
  const data = opts.dataIn ? readInput(opts.dataIn) : new Uint8Array(64);
  const c = load(io, file, [opts.program], opts.verbose ?? false);
  try {
    const r = c.programs[opts.program]!.testRun({ data, repeat });
    if (opts.json) {
      io.out(JSON.stringify({ program: opts.program, retval: r.retval, durationNs: r.durationNs, repeat, dataOut: Buffer.from(r.data).toString('hex') }) + '\n');
    } else {
      io.out(`${opts.program}: return value ${r.retval}, ${r.durationNs} ns per run (${repeat} run${repeat === 1 ? '' : 's'})\n`);
    }
  } catch (e) {
    if (e instanceof SyscallError) throw new CliError(e.message);
    throw e;
  } finally {
    c.close();
  }
}
