/**
 * `tsbpf load` and `tsbpf run`: an object into the kernel through the loader, its
 * programs (and maps) pinned all or nothing, or one program test-run; loader failures
 * printed as the user's errors, a verifier rejection like a compiler error.
 */
import { existsSync, mkdirSync, rmdirSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TsbpfError, VerifierError, formatVerifierError, loadCollection, unpin, type Collection } from '@tsbpf/loader';
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

/**
 * `tsbpf load OBJ --pin DIR [--pin-maps DIR]`: like `bpftool prog loadall [pinmaps]`, programs pinned at DIR/<name>,
 * maps at MAPDIR/<name>. All or nothing: when a pin fails, the pins made before it are taken back, and the
 * directories the command made go too; the paths are printed once all are pinned.
 */
export function loadCommand(io: CliIo, file: string, opts: { pin: string; pinMaps?: string; program?: string[]; verbose?: boolean }): void {
  const madeDirs: string[] = [];
  const pins: string[] = [];
  try {
    madeDirs.push(...pinDirectory(opts.pin));
    if (opts.pinMaps !== undefined) madeDirs.push(...pinDirectory(opts.pinMaps));
    const c = load(io, file, opts.program, opts.verbose ?? false);
    try {
      for (const [name, p] of Object.entries(c.programs)) {
        p.pin(join(opts.pin, name));
        pins.push(join(opts.pin, name));
      }
      if (opts.pinMaps !== undefined) {
        for (const [name, m] of Object.entries(c.maps)) {
          // bpffs refuses names with a dot: `.rodata` is pinned as `_rodata`, as libbpf sanitises pin paths.
          const path = join(opts.pinMaps, name.replaceAll('.', '_'));
          m.pin(path);
          pins.push(path);
        }
      }
    } finally {
      // The pins keep the programs (and their maps) loaded; our fds can go.
      c.close();
    }
  } catch (e) {
    const undone = takeBack(pins, madeDirs);
    if (TsbpfError.is(e) && !(e instanceof CliError)) throw new CliError(`${e.message}${undone}`);
    throw e;
  }
  for (const path of pins) io.out(`${path}\n`);
}

/** Removes the pins made (last first) and then the directories made, if empty; says what went, for the message. */
function takeBack(pins: readonly string[], madeDirs: readonly string[]): string {
  let removed = 0;
  for (const path of [...pins].reverse()) {
    try {
      unpin(path);
      removed++;
    } catch {
      // gone already
    }
  }
  for (const dir of [...madeDirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty (something else is there now) or gone: left as it is
    }
  }
  return removed > 0 ? ` (the ${removed === 1 ? 'pin' : `${removed} pins`} made before ${removed === 1 ? 'was' : 'were'} removed)` : '';
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
 * Returns the directories made, outermost first.
 */
function pinDirectory(dir: string): string[] {
  let existing = resolve(dir);
  const missing: string[] = [];
  while (!existsSync(existing)) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
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
  return missing;
}
