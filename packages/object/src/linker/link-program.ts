/**
 * The static linker: a program and the subprograms it reaches laid out in one
 * instruction stream, BPF-to-BPF calls and callback references patched.
 */
import { ObjectParseError } from '../errors.js';
import { INSN_SIZE } from '../asm/instruction.js';
import { BPF_PSEUDO_FUNC } from '../asm/opcodes.js';
import type { CollectionSpec, FuncInfo, LineInfo, ProgramCoreRelo, ProgramRelocation, ProgramSpec } from '../spec.js';
import { InsnWriter } from './insn-writer.js';

/** A program with its subprograms appended, ready for map relocation and loading. */
export interface LinkedProgram {
  readonly name: string;
  /** The program's instructions followed by each reachable subprogram's, calls patched. */
  readonly instructions: Uint8Array;
  /** Where each function starts, in instruction slots (the program itself at 0). */
  readonly layout: readonly { readonly name: string; readonly start: number }[];
  /** The relocations left for the loader (map, map_value, extern), in linked slot numbers. */
  readonly relocations: readonly Exclude<ProgramRelocation, { kind: 'call' | 'func' }>[];
  readonly funcInfo: readonly FuncInfo[];
  readonly lineInfo: readonly LineInfo[];
  readonly coreRelos: readonly ProgramCoreRelo[];
}

/** Whether any relocation is a call or a function reference (a plain loop: this runs on every load). */
function callsAny(relocations: readonly ProgramRelocation[]): boolean {
  for (let i = 0; i < relocations.length; i++) {
    const kind = relocations[i]!.kind;
    if (kind === 'call' || kind === 'func') return true;
  }
  return false;
}

/**
 * Appends the subprograms a program reaches (in `ProgramSpec.subprograms`
 * order) after it, as libbpf and cilium/ebpf do, and rewrites each BPF-to-BPF
 * call and callback reference to the callee's new relative position. Pure:
 * the spec is not touched; the result is a fresh copy.
 */
export function linkProgram(collection: CollectionSpec, programName: string): LinkedProgram {
  const program = collection.programs[programName] ?? collection.subprograms[programName];
  if (!program) throw new ObjectParseError('PROGRAM_INVALID', `no program named ${programName}`);
  if (program.subprograms.length === 0 && !callsAny(program.relocations)) return alone(program);
  const functions: ProgramSpec[] = [program];
  for (const name of program.subprograms) {
    const sub = collection.subprograms[name] ?? collection.programs[name];
    if (!sub) throw new ObjectParseError('RELOCATION_INVALID', `program ${programName}: calls unknown function ${name}`);
    functions.push(sub);
  }

  const layout: { name: string; start: number }[] = [];
  let slots = 0;
  for (const f of functions) {
    layout.push({ name: f.name, start: slots });
    slots += f.instructions.length / INSN_SIZE;
  }
  const startOf = new Map(layout.map((l) => [l.name, l.start]));

  const instructions = new Uint8Array(slots * INSN_SIZE);
  const insns = new InsnWriter(instructions, collection.byteOrder);
  const relocations: LinkedProgram['relocations'][number][] = [];
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: ProgramCoreRelo[] = [];

  functions.forEach((f, i) => {
    const base = layout[i]!.start;
    instructions.set(f.instructions, base * INSN_SIZE);
    for (const r of f.relocations) {
      const at = base + r.insn;
      if (r.kind === 'call' || r.kind === 'func') {
        const target = startOf.get(r.target);
        if (target === undefined) {
          throw new ObjectParseError('RELOCATION_INVALID', `program ${programName}: ${f.name} references ${r.target}, which was not linked`);
        }
        insns.setImm(at, target - at - 1);
        // clang leaves src_reg 0 on a function-address ld_imm64; the kernel wants BPF_PSEUDO_FUNC.
        if (r.kind === 'func') insns.setSrc(at, BPF_PSEUDO_FUNC);
      } else {
        relocations.push({ ...r, insn: at });
      }
    }
    for (const fi of f.funcInfo) funcInfo.push({ ...fi, insn: base + fi.insn });
    for (const li of f.lineInfo) lineInfo.push({ ...li, insn: base + li.insn });
    for (const cr of f.coreRelos) coreRelos.push({ ...cr, insn: base + cr.insn });
  });

  return { name: program.name, instructions, layout, relocations, funcInfo, lineInfo, coreRelos };
}

/**
 * linkProgram of a program that calls nothing: its own instructions (a
 * copy) at slot 0, so its records' instruction numbers stand as they are
 * (fresh arrays of the spec's records, which nothing changes).
 */
function alone(program: ProgramSpec): LinkedProgram {
  const relocations = program.relocations.length === 0 ? [] : (program.relocations.slice() as LinkedProgram['relocations'][number][]);
  return {
    name: program.name,
    instructions: program.instructions.slice(),
    layout: [{ name: program.name, start: 0 }],
    relocations,
    funcInfo: program.funcInfo.slice(),
    lineInfo: program.lineInfo.slice(),
    coreRelos: program.coreRelos.slice(),
  };
}
