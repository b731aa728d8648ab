import type { ExternSpec } from '../spec.js';
import type { ObjectContext } from './context.js';
import { SHN_UNDEF, STB, STT, type ElfSymbol } from './symbols.js';

/**
 * Undefined symbols are externs. BTF says which kind: clang lists them as VARs
 * (or FUNCs, for kfuncs) in the `.kconfig` or `.ksyms` DATASEC. Any other
 * undefined symbol (a function declared and not defined, a name from inline
 * asm, the other half of an object meant for `bpftool gen object`) is
 * `unresolved`: the object parses, as cilium/ebpf's does, and only loading a
 * program that uses it fails. Without BTF no extern can be told apart, so all
 * are unresolved then.
 */
export function parseExterns(ctx: ObjectContext): ExternSpec[] {
  // A plain loop (no filter callback): this runs on every parse, mostly to find none.
  const undefinedSymbols: ElfSymbol[] = [];
  const symbols = ctx.symbols;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    if (s.sectionIndex === SHN_UNDEF && s.name !== '' && s.type !== STT.FILE && s.type !== STT.SECTION) undefinedSymbols.push(s);
  }
  if (undefinedSymbols.length === 0) return [];
  const btf = ctx.btf;
  if (!btf) {
    return undefinedSymbols.map((symbol) => ({
      name: symbol.name,
      kind: 'unresolved',
      isFunction: symbol.type === STT.FUNC,
      weak: symbol.bind === STB.WEAK,
      btfTypeId: 0,
    }));
  }

  const kinds = new Map<string, { kind: 'kconfig' | 'ksym'; id: number; isFunction: boolean }>();
  for (const [section, kind] of [
    ['.kconfig', 'kconfig'],
    ['.ksyms', 'ksym'],
  ] as const) {
    const datasec = btf.findByName(section, 'datasec');
    if (datasec?.kind !== 'datasec') continue;
    for (const v of datasec.vars) {
      const t = btf.type(v.type);
      if (t.kind === 'var' || t.kind === 'func') kinds.set(t.name, { kind, id: t.id, isFunction: t.kind === 'func' });
    }
  }

  return undefinedSymbols.map((symbol) => {
    let info = kinds.get(symbol.name);
    if (!info && symbol.type === STT.FUNC) {
      // kfuncs that are only called may be described by a FUNC outside any DATASEC.
      const func = btf.findByName(symbol.name, 'func');
      if (func) info = { kind: 'ksym', id: func.id, isFunction: true };
    }
    if (!info) {
      const func = btf.findByName(symbol.name, 'func');
      return {
        name: symbol.name,
        kind: 'unresolved',
        isFunction: func !== undefined || symbol.type === STT.FUNC,
        weak: symbol.bind === STB.WEAK,
        btfTypeId: func?.id ?? 0,
      };
    }
    return {
      name: symbol.name,
      kind: info.kind,
      isFunction: info.isFunction,
      weak: symbol.bind === STB.WEAK,
      btfTypeId: info.id,
    };
  });
}
