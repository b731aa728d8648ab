/**
 * One program of a collection into the kernel: linked with its subprograms,
 * CO-RE relocated against the kernel's BTF, its map and extern references
 * pointed at the live maps and the kernel (all by @tsbpf/object, with this
 * kernel's facts), then loaded; a reached poison in a verifier rejection is
 * explained in the VerifierError.
 */
import {
  LinkError,
  ProgramType,
  applyCoreRelos,
  attachBtfId,
  calculateCoreRelos,
  explainPoison,
  funcInfoBytes,
  lineInfoBytes,
  linkProgram,
  needsAttachBtfId,
  relocateProgram,
  type Btf,
  type CollectionSpec,
  type CoreResult,
  type KernelFacts,
  type ProgramSpec,
} from '@tsbpf/object';
import { LoaderError } from './errors.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { withContext } from '@tsbpf/object';
import { Program, VerifierError } from './program.js';

/** BPF_F_SLEEPABLE: a program that may sleep (fentry.s, lsm.s, ...). */
const BPF_F_SLEEPABLE = 1 << 4;

/** What loading a collection's programs needs to know of the kernel, beyond what relocation does. */
export interface LoadFacts extends KernelFacts {
  /** The object's BTF in the kernel, for func_info and line_info. */
  readonly btfFd: number | undefined;
  /** Kernel modules' BTF (split on vmlinux), read only if a CO-RE relocation needs it. */
  readonly modules?: () => readonly Btf[];
  /** struct_ops programs: the kernel struct (`attach_btf_id`) and member index each one fills. */
  readonly structOps?: ReadonlyMap<string, { readonly attachBtfId: number; readonly memberIndex: number }>;
}

export function loadProgram(spec: CollectionSpec, p: ProgramSpec, facts: LoadFacts): Program {
  return withContext(`program ${p.name}`, () => loadOne(spec, p, facts));
}

function loadOne(spec: CollectionSpec, p: ProgramSpec, facts: LoadFacts): Program {
  if (p.type === ProgramType.unspec) {
    // As libbpf ("missing BPF prog type, check ELF section name"): the kernel would only say EINVAL.
    throw new LinkError('PROGRAM_TYPE_UNKNOWN', `section ${p.sectionName} follows no SEC() convention, so the program's type is unknown`);
  }
  const structOps = p.type === ProgramType.struct_ops ? facts.structOps?.get(p.name) : undefined;
  if (p.type === ProgramType.struct_ops && !structOps) {
    // As libbpf, which does not load it: the kernel would say only EINVAL.
    throw new LoaderError('LOAD_OPTIONS', `struct_ops program ${p.name} is in no struct_ops map, so it has nothing to attach to: leave it out of \`programs\``);
  }
  const attachId = structOps ? structOps.attachBtfId : needsAttachBtfId(p) ? attachBtfId(p, facts.kernelBtf()) : undefined;
  let linked = linkProgram(spec, p.name);
  let coreResults: readonly CoreResult[] = [];
  if (linked.coreRelos.length > 0) {
    // The object's guesses at kernel layouts, recomputed against this kernel's BTF.
    coreResults = calculateCoreRelos(spec.btf!, facts.kernelBtf(), linked.coreRelos, { modules: facts.modules });
    linked = { ...linked, instructions: applyCoreRelos(linked.instructions, coreResults) };
  }
  // Nothing to relocate (no map or extern reference): the linked copy is
  // what relocateProgram would copy again, and Program.load copies it into
  // native memory without changing it.
  const instructions = linked.relocations.length === 0 ? linked.instructions : relocateProgram(spec, linked, facts);
  let program: Program;
  try {
    program = Program.load({
      type: p.type,
      // struct_ops: the member of the kernel struct the program fills, by index.
      expectedAttachType: structOps ? structOps.memberIndex : p.attachType,
      name: p.name,
      license: p.license,
      kernelVersion: p.kernelVersion,
      instructions,
      btfFd: facts.btfFd,
      funcInfo: funcInfoBytes(linked, spec.byteOrder),
      lineInfo: lineInfoBytes(linked, spec.byteOrder),
      attachBtfId: attachId,
      flags: p.sleepable ? BPF_F_SLEEPABLE : 0,
    });
  } catch (e) {
    const why = e instanceof VerifierError ? explainPoison(e.log, coreResults, spec) : undefined;
    if (e instanceof VerifierError && why) throw new VerifierError(e.program, e.errno, e.log, e.truncated, why);
    throw e;
  }
  bindRodata(spec, program, facts);
  return program;
}

/**
 * As libbpf: the object's first read-only global-data map is bound to every
 * program (BPF_PROG_BIND_MAP), so tools find the program's metadata
 * (`bpftool prog show`'s `metadata` from `.rodata` variables named
 * `bpf_metadata_*`) even when no instruction refers to the map. A kernel
 * without the command (before 5.10) is not an error, as libbpf only warns.
 */
function bindRodata(spec: CollectionSpec, program: Program, facts: LoadFacts): void {
  const rodata = Object.values(spec.maps).find((m) => m.kind === 'rodata');
  const fd = rodata && facts.mapFds.get(rodata.name);
  if (fd === undefined) return;
  const r = sys.progBindMap(program.fd, fd);
  if (r < 0 && r !== -EINVAL) {
    program.close();
    throw new SyscallError('BPF_PROG_BIND_MAP', -r, `map ${rodata!.name}`);
  }
}

/** Kernels before BPF_PROG_BIND_MAP refuse the command with EINVAL. */
const EINVAL = 22;
