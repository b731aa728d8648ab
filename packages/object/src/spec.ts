import type { Btf } from './btf/index.js';
import type { BtfExt, CoreRelo } from './btf/index.js';
import type { ByteOrder } from './errors.js';

/**
 * Plain data describing a BPF object, as parsed from its bytes. Specs are
 * deterministic (the same bytes give deep-equal specs) and are never mutated
 * by loading: the loader copies what it patches.
 */
export interface CollectionSpec {
  readonly byteOrder: ByteOrder;
  /** The `license` section (`""` if absent). */
  readonly license: string;
  /** The `version` section (LINUX_VERSION_CODE for old kprobe loaders), if any. */
  readonly kernelVersion: number | undefined;
  /** Entry-point programs by function name. */
  readonly programs: Readonly<Record<string, ProgramSpec>>;
  /** Functions in `.text`, callable from programs (BPF-to-BPF calls) or used as callbacks. */
  readonly subprograms: Readonly<Record<string, ProgramSpec>>;
  /** BTF-defined, legacy and global-data maps, by name. */
  readonly maps: Readonly<Record<string, MapSpec>>;
  /** `.kconfig` and `.ksyms` externs the programs reference. */
  readonly externs: Readonly<Record<string, ExternSpec>>;
  readonly btf: Btf | undefined;
  readonly btfExt: BtfExt | undefined;
  /**
   * ELF facts the kernel-bound BTF needs (libbpf fills them in at open):
   * size and symbol offsets of every section a BTF DATASEC names.
   */
  readonly dataSections: Readonly<Record<string, DataSectionFacts>>;
}

export interface DataSectionFacts {
  readonly size: number;
  /** Symbol name → offset in the section. */
  readonly symbols: Readonly<Record<string, number>>;
}

export type ProgramRelocation =
  /** `ld_imm64` of a map: becomes BPF_PSEUDO_MAP_FD at load. */
  | { readonly insn: number; readonly kind: 'map'; readonly map: string }
  /** `ld_imm64` of an address in a global-data map: BPF_PSEUDO_MAP_VALUE + offset. */
  | { readonly insn: number; readonly kind: 'map_value'; readonly map: string; readonly offset: number }
  /** BPF-to-BPF call to a subprogram (or to another function of the same section). */
  | { readonly insn: number; readonly kind: 'call'; readonly target: string }
  /** `ld_imm64` of a function address (a callback: BPF_PSEUDO_FUNC). */
  | { readonly insn: number; readonly kind: 'func'; readonly target: string }
  /** Reference to a `.kconfig` or `.ksyms` extern. */
  | { readonly insn: number; readonly kind: 'extern'; readonly extern: string };

export interface FuncInfo {
  /** Instruction slot (8-byte unit) relative to the start of the program. */
  readonly insn: number;
  readonly typeId: number;
}
export interface LineInfo {
  readonly insn: number;
  /** String offsets in the object's .BTF (for bpf_line_info). */
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly fileName: string;
  readonly line: number;
  readonly column: number;
  readonly lineText: string;
}
export interface ProgramCoreRelo extends Omit<CoreRelo, 'insnOff'> {
  readonly insn: number;
}

export interface ProgramSpec {
  readonly name: string;
  readonly sectionName: string;
  /** Byte offset of the function inside its section. */
  readonly sectionOffset: number;
  /** BPF_PROG_TYPE_* (0 for subprograms). */
  readonly type: number;
  /** libbpf's name for `type`: "xdp", "sched_cls", ... */
  readonly typeName: string;
  readonly attachType: number | undefined;
  readonly attachTypeName: string | undefined;
  /** What the section names after its prefix: tracepoint, BTF function, kprobe target, ... */
  readonly attachTo: string;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  readonly license: string;
  readonly kernelVersion: number | undefined;
  /** The function's own instructions, raw, in the object's byte order (8 bytes a slot). */
  readonly instructions: Uint8Array;
  readonly relocations: readonly ProgramRelocation[];
  /** Subprograms reachable from this function, transitively, in order of first reference. */
  readonly subprograms: readonly string[];
  readonly funcInfo: readonly FuncInfo[];
  readonly lineInfo: readonly LineInfo[];
  readonly coreRelos: readonly ProgramCoreRelo[];
  /**
   * A global (or weak) function of hidden or internal visibility
   * (`__hidden`, as libbpf's usdt.bpf.h declares its helpers): libbpf marks
   * such a subprogram's BTF FUNC static, so the verifier checks it in its
   * callers' context rather than on its own.
   */
  readonly hidden: boolean;
  /** BTF id of the FUNC describing this function, if BTF is present. */
  readonly btfFuncId: number | undefined;
}

export type MapKind = 'btf' | 'legacy' | 'data' | 'rodata' | 'bss' | 'struct_ops';

/** Initial content of a prog array or map-in-map slot. */
export interface MapSlotValue {
  readonly index: number;
  /** A program name (prog arrays) ... */
  readonly program?: string;
  /** ... or a map name (array/hash of maps). */
  readonly map?: string;
  /** struct_ops maps: the member (a function pointer) the program is set to; `index` is the member's position. */
  readonly member?: string;
}

export interface MapSpec {
  readonly name: string;
  readonly kind: MapKind;
  /** ELF section the definition came from. */
  readonly sectionName: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly numaNode: number;
  readonly mapExtra: bigint;
  /** 0: none, 1: pin by name under the pin root (LIBBPF_PIN_BY_NAME). */
  readonly pinning: number;
  /** BTF type ids of key and value (0 when given by size only). */
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** The inner map definition of an array/hash of maps. */
  readonly innerMap: MapSpec | undefined;
  /** Initial program/map references (`.values = { ... }`). */
  readonly slots: readonly MapSlotValue[];
  /** Initial bytes of a global-data map (`.data`, `.rodata`); undefined for `.bss`, which starts zeroed as every new array does. */
  readonly initialValue: Uint8Array | undefined;
  /** `.rodata`: frozen after its contents are written. */
  readonly freeze: boolean;
  /**
   * Legacy definitions only: the bytes past `struct bpf_map_def` (iproute2's
   * `bpf_elf_map` adds id, pinning, inner_id, inner_idx). The loader creates
   * the map only when they are all zero: their meaning is another loader's.
   */
  readonly extra?: Uint8Array;
  /** Global-data variables: name → byte offset/size inside the value. */
  readonly variables: readonly { readonly name: string; readonly offset: number; readonly size: number; readonly btfTypeId: number }[];
}

export interface ExternSpec {
  readonly name: string;
  /**
   * `.kconfig` (LINUX_KERNEL_VERSION, CONFIG_*), `.ksyms` (kernel variables
   * and kfuncs), or `unresolved`: neither, nothing the loader can supply (a
   * function declared and never defined, a symbol from inline asm); loading
   * a program that refers to one fails.
   */
  readonly kind: 'kconfig' | 'ksym' | 'unresolved';
  /** A function (kfunc) or a variable. */
  readonly isFunction: boolean;
  readonly weak: boolean;
  /** BTF id of the VAR or FUNC describing it (0 when the object has no BTF). */
  readonly btfTypeId: number;
}
