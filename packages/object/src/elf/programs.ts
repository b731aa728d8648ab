/** Programs and subprograms from the executable sections: instructions, relocations, BTF.ext records. */
import { INSN_SIZE } from '../asm/instruction.js';
import { BPF_PSEUDO_CALL, OP_CALL, OP_LD_IMM64 } from '../asm/opcodes.js';
import { ObjectParseError } from '../errors.js';
import { sectionDef, type SectionDef } from '../section-defs.js';
import type { FuncInfo, LineInfo, ProgramCoreRelo, ProgramRelocation, ProgramSpec } from '../spec.js';
import { LEGACY_MAPS_SECTION, MAPS_SECTION, isDataSection, type ObjectContext } from './context.js';
import { SHF, SHT, type ElfSection } from './elf-file.js';
import { R_BPF, type ElfRelocation } from './relocations.js';
import { SHN_UNDEF, STB, STT, STV, type ElfSymbol } from './symbols.js';

export interface ProgramsOptions {
  /** What to do with an executable section whose name follows no SEC() convention. */
  readonly unknownSections: 'unspec' | 'error' | 'ignore';
  readonly license: string;
  readonly kernelVersion: number | undefined;
}

const NONE: readonly never[] = [];

interface Func {
  readonly symbol: ElfSymbol;
  readonly section: ElfSection;
  /** The section's SEC() definition, looked up once per section (undefined for .text and unknown names). */
  readonly def: SectionDef | undefined;
}

/**
 * One program per function symbol in each executable section (so a section
 * may hold several programs); functions in `.text` are subprograms. Every
 * relocation is resolved to a name (map, global-data map, subprogram, extern)
 * so the loader never needs the ELF again.
 */
export function parsePrograms(ctx: ObjectContext, options: ProgramsOptions): { programs: ProgramSpec[]; subprograms: ProgramSpec[] } {
  const funcs = collectFunctions(ctx, options);
  // Keyed by section index and offset as one number (no key string a lookup).
  const byAddress = new Map<number, Func>();
  for (const f of funcs) byAddress.set(addressKey(f.section.index, f.symbol.value), f);
  // An offset outside [0, 2^32) (a call's 32-bit imm can aim 16 GiB either way) would alias another section's key: none.
  const funcAt = (sectionIndex: number, offset: number) => (offset >= 0 && offset < 0x100000000 ? byAddress.get(addressKey(sectionIndex, offset)) : undefined);

  const relocationsOf: ProgramRelocation[][] = [];
  let calls: Map<string, string[]> | undefined;
  for (const f of funcs) {
    const relocations = resolveRelocations(ctx, f, funcAt);
    relocationsOf.push(relocations);
    for (const r of relocations) {
      if (r.kind !== 'call' && r.kind !== 'func') continue;
      calls ??= new Map();
      let targets = calls.get(f.symbol.name);
      if (!targets) calls.set(f.symbol.name, (targets = []));
      targets.push(r.target);
    }
  }

  // Each spec is built once, with its subprograms (none when nothing calls).
  const programs: ProgramSpec[] = [];
  const subprograms: ProgramSpec[] = [];
  for (let i = 0; i < funcs.length; i++) {
    const f = funcs[i]!;
    const spec = buildSpec(ctx, f, relocationsOf[i]!, calls ? reachable(calls, f.symbol.name) : [], options);
    (f.section.name === '.text' ? subprograms : programs).push(spec);
  }
  return { programs, subprograms };
}

function addressKey(sectionIndex: number, offset: number): number {
  return sectionIndex * 0x100000000 + offset; // section indexes are 16-bit (e_shnum), offsets below 2^32: exact and unique
}

/** Subprograms reachable from `name`, transitively, in first-reference order. */
function reachable(calls: ReadonlyMap<string, readonly string[]>, name: string): string[] {
  const seen = new Set<string>([name]);
  const order: string[] = [];
  const queue = [...(calls.get(name) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    order.push(next);
    queue.push(...(calls.get(next) ?? []));
  }
  return order;
}

function collectFunctions(ctx: ObjectContext, options: ProgramsOptions): Func[] {
  const funcs: Func[] = [];
  const names = new Set<string>();
  for (const section of ctx.elf.sections) {
    if (section.type !== SHT.PROGBITS || (section.flags & SHF.EXECINSTR) === 0 || section.size === 0) continue;
    const isText = section.name === '.text';
    const symbols = ctx.symbols.filter((s) => s.sectionIndex === section.index && s.type === STT.FUNC).sort((a, b) => a.value - b.value);
    const def = isText || symbols.length === 0 ? undefined : sectionDef(section.name);
    if (!isText && symbols.length > 0 && !def && options.unknownSections !== 'unspec') {
      if (options.unknownSections === 'ignore') continue;
      throw new ObjectParseError(
        'UNKNOWN_SECTION',
        `program ${symbols[0]!.name}: section name follows no SEC() convention (e.g. "xdp", "tracepoint/<category>/<name>", "cgroup_skb/ingress")`,
        { section: section.name },
      );
    }
    for (const symbol of symbols) {
      // The error's details are made only when one is thrown.
      if (symbol.value % INSN_SIZE !== 0 || symbol.size % INSN_SIZE !== 0 || symbol.size === 0) {
        throw new ObjectParseError('PROGRAM_INVALID', `function ${symbol.name} is not whole instructions`, { section: section.name, offset: symbol.value });
      }
      if (symbol.value + symbol.size > section.size) {
        throw new ObjectParseError('PROGRAM_INVALID', `function ${symbol.name} runs past the end of its section`, {
          section: section.name,
          offset: symbol.value,
        });
      }
      if (!isText && symbol.bind === STB.LOCAL) {
        // libbpf refuses these too: a static entry point has no stable name to load it by.
        throw new ObjectParseError('PROGRAM_INVALID', `program ${symbol.name} is static; entry points must be global`, {
          section: section.name,
          offset: symbol.value,
        });
      }
      if (names.has(symbol.name)) {
        throw new ObjectParseError('SYMBOL_INVALID', `two functions are named ${symbol.name}`, { section: section.name, offset: symbol.value });
      }
      names.add(symbol.name);
      funcs.push({ symbol, section, def });
    }
  }
  return funcs;
}

function resolveRelocations(ctx: ObjectContext, f: Func, funcAt: (sectionIndex: number, offset: number) => Func | undefined): ProgramRelocation[] {
  const { section, symbol: fn } = f;
  // Straight from the file's view: the function lies inside its section (collectFunctions), and so every instruction read below.
  const { view, little } = ctx.elf;
  const base = section.offset;
  const srcReg = (off: number) => (little ? view.getUint8(base + off + 1) >> 4 : view.getUint8(base + off + 1) & 0xf);
  const out: ProgramRelocation[] = [];
  const relocated = new Set<number>();
  const fail = (message: string, offset: number) =>
    new ObjectParseError('RELOCATION_INVALID', `program ${fn.name}: ${message}`, { section: section.name, offset });

  for (const rel of ctx.relocations.get(section.index) ?? []) {
    if (rel.offset < fn.value || rel.offset >= fn.value + fn.size) continue;
    if ((rel.offset - fn.value) % INSN_SIZE !== 0) throw fail('relocation is not on an instruction boundary', rel.offset);
    const insn = (rel.offset - fn.value) / INSN_SIZE;
    relocated.add(insn);
    out.push(classify(ctx, rel, insn, view.getUint8(base + rel.offset), view.getInt32(base + rel.offset + 4, little), funcAt, fail));
  }

  // Calls between functions of the same section need no relocation: the
  // immediate is already the relative target.
  for (let off = fn.value; off < fn.value + fn.size; off += INSN_SIZE) {
    const insn = (off - fn.value) / INSN_SIZE;
    if (view.getUint8(base + off) !== OP_CALL || srcReg(off) !== BPF_PSEUDO_CALL || relocated.has(insn)) continue;
    const targetOffset = off + (view.getInt32(base + off + 4, little) + 1) * INSN_SIZE;
    const target = funcAt(section.index, targetOffset);
    if (!target) throw fail(`call to offset ${targetOffset}, where no function starts`, off);
    out.push({ insn, kind: 'call', target: target.symbol.name });
  }
  return out.sort((a, b) => a.insn - b.insn);
}

function classify(
  ctx: ObjectContext,
  rel: ElfRelocation,
  insn: number,
  opcode: number,
  imm: number,
  funcAt: (sectionIndex: number, offset: number) => Func | undefined,
  fail: (message: string, offset: number) => ObjectParseError,
): ProgramRelocation {
  const sym = rel.symbol;
  if (rel.type !== R_BPF.R64_64 && rel.type !== R_BPF.R64_32) {
    throw fail(`relocation type ${rel.type} against ${sym.name || 'a section'} is not used in code`, rel.offset);
  }
  if (sym.sectionIndex === SHN_UNDEF) {
    if (sym.name === '') throw fail('relocation against an undefined unnamed symbol', rel.offset);
    return { insn, kind: 'extern', extern: sym.name };
  }
  const target = ctx.elf.sections[sym.sectionIndex];
  if (!target) throw fail(`symbol ${sym.name} is in section ${sym.sectionIndex}, which does not exist`, rel.offset);

  if (opcode === OP_CALL) {
    // The immediate counts instructions from the symbol: (imm + 1) slots past it.
    const offset = sym.value + (imm + 1) * INSN_SIZE;
    const callee = funcAt(target.index, offset);
    if (target.name !== '.text' || !callee) {
      throw fail(`call into ${target.name}+${offset}, which is not a function in .text`, rel.offset);
    }
    return { insn, kind: 'call', target: callee.symbol.name };
  }
  if (opcode !== OP_LD_IMM64) {
    throw fail(`relocation on opcode 0x${opcode.toString(16)}; only calls and ld_imm64 are relocated`, rel.offset);
  }
  if ((target.flags & SHF.EXECINSTR) !== 0) {
    // A function address (callback): the immediate is a byte offset from the symbol.
    const callee = funcAt(target.index, sym.value + imm);
    if (!callee || target.name !== '.text') {
      throw fail(`function reference to ${target.name}+${sym.value + imm}, which is not a function in .text`, rel.offset);
    }
    return { insn, kind: 'func', target: callee.symbol.name };
  }
  if (target.name === MAPS_SECTION || target.name === LEGACY_MAPS_SECTION) {
    const map = ctx.symbols.find(
      (s) => s.sectionIndex === target.index && s.type !== STT.SECTION && s.name !== '' && s.value === sym.value + (sym.type === STT.SECTION ? imm : 0),
    );
    if (!map) throw fail(`reference into ${target.name} that names no map`, rel.offset);
    return { insn, kind: 'map', map: map.name };
  }
  if (isDataSection(target.name)) {
    return { insn, kind: 'map_value', map: target.name, offset: sym.value + imm };
  }
  throw fail(`reference to ${sym.name || target.name} in section ${target.name}, which is neither code, map nor data`, rel.offset);
}

function buildSpec(ctx: ObjectContext, f: Func, relocations: ProgramRelocation[], subprograms: string[], options: ProgramsOptions): ProgramSpec {
  const { section, symbol, def } = f;
  const start = symbol.value;
  const end = start + symbol.size;
  const ext = ctx.btfExt;

  // Plain loops, no closures or intermediate arrays: this runs once a function on every load.
  const funcInfo: FuncInfo[] = [];
  let btfFuncId: number | undefined;
  for (const r of ext?.funcInfo.get(section.name) ?? NONE) {
    if (r.insnOff < start || r.insnOff >= end) continue;
    const insn = (r.insnOff - start) / INSN_SIZE;
    if (insn === 0 && btfFuncId === undefined) btfFuncId = r.typeId;
    funcInfo.push({ insn, typeId: r.typeId });
  }
  const lineInfo: LineInfo[] = [];
  for (const r of ext?.lineInfo.get(section.name) ?? NONE) {
    if (r.insnOff < start || r.insnOff >= end) continue;
    lineInfo.push({
      insn: (r.insnOff - start) / INSN_SIZE,
      fileNameOff: r.fileNameOff,
      lineOff: r.lineOff,
      fileName: r.fileName,
      line: r.line,
      column: r.column,
      lineText: r.lineText,
    });
  }
  const coreRelos: ProgramCoreRelo[] = [];
  for (const r of ext?.coreRelos.get(section.name) ?? NONE) {
    if (r.insnOff < start || r.insnOff >= end) continue;
    coreRelos.push({ typeId: r.typeId, accessStr: r.accessStr, kind: r.kind, kindName: r.kindName, insn: (r.insnOff - start) / INSN_SIZE });
  }
  btfFuncId ??= ctx.btf?.findByName(symbol.name, 'func')?.id;

  return {
    name: symbol.name,
    sectionName: section.name,
    sectionOffset: start,
    hidden: symbol.bind !== STB.LOCAL && (symbol.visibility === STV.INTERNAL || symbol.visibility === STV.HIDDEN),
    type: def?.type ?? 0,
    typeName: def?.typeName ?? 'unspec',
    attachType: def?.attachType,
    attachTypeName: def?.attachTypeName,
    attachTo: def?.attachTo ?? '',
    sleepable: def?.sleepable ?? false,
    xdpFrags: def?.xdpFrags ?? false,
    license: options.license,
    kernelVersion: options.kernelVersion,
    instructions: section.copy(start, end),
    relocations,
    subprograms,
    funcInfo,
    lineInfo,
    coreRelos,
    btfFuncId,
  };
}
