/** @tsbpf/object's public API. */
export {
  LinkError,
  ObjectParseError,
  TsbpfError,
  withContext,
  type ByteOrder,
  type LinkErrorCode,
  type ObjectParseErrorCode,
  type ObjectParseErrorOptions,
  type TsbpfErrorOptions,
} from './errors.js';
export { parseCollectionSpec, type ParseOptions } from './collection-spec.js';
export { parseObjectBtf } from './object-btf.js';
export type {
  CollectionSpec,
  DataSectionFacts,
  ExternSpec,
  FuncInfo,
  LineInfo,
  MapKind,
  MapSlotValue,
  MapSpec,
  ProgramCoreRelo,
  ProgramRelocation,
  ProgramSpec,
} from './spec.js';
export { sectionDef, type SectionDef } from './section-defs.js';
export {
  AttachType,
  MapFlags,
  MapType,
  ARRAY_MAP_TYPES,
  NON_DATA_MAP_TYPES,
  NO_BTF_MAP_TYPES,
  PER_CPU_MAP_TYPES,
  PinType,
  ProgramType,
  attachTypeName,
  mapTypeName,
  programTypeName,
  type AttachTypeName,
  type MapTypeName,
  type ProgramTypeName,
} from './uapi.js';
export { linkProgram, type LinkedProgram } from './linker/link-program.js';
export * from './btf/index.js';
export * from './asm/index.js';
export { btfForKernel } from './linker/kernel-btf.js';
export { kconfigLayout, type KconfigLayout, type KconfigSlot, type KconfigType } from './linker/kconfig.js';
export { calculateCoreRelos, type CoreReloInput, type CoreResult } from './linker/core-calculate.js';
export { applyCoreRelos } from './linker/core-apply.js';
export { relocateProgram, type KernelFacts, type KsymAddress } from './linker/relocate.js';
export { POISON_CALL_KFUNC_BASE, isTypelessKsym, typelessKsyms } from './linker/externs.js';
export { FUNC_INFO_SIZE, LINE_INFO_SIZE, funcInfoBytes, lineInfoBytes } from './linker/func-line-info.js';
export { encodeConstant, withLoadOverrides, type ConstantValue, type LoadOverrides } from './linker/load-overrides.js';
export { attachBtfId, needsAttachBtfId } from './linker/attach-btf.js';
export { structOpsLayout, structOpsLayouts, type StructOpsLayout, type StructOpsProgramSlot } from './linker/struct-ops.js';
export { explainPoison } from './linker/poison.js';
export {
  addressToFileOffset,
  imageFunctions,
  parseElfImage,
  type ElfImage,
  type ImageSection,
  type ImageSegment,
  type ImageSymbol,
} from './native/elf-image.js';
export { parseUsdtNotes, usdtNotes, type UsdtNote, type UsdtProbes } from './native/usdt-notes.js';
export {
  USDT_ARCH_OF_MACHINE,
  USDT_MAX_ARGS,
  USDT_SPEC_SIZE,
  UsdtArgType,
  encodeUsdtSpec,
  parseUsdtArgs,
  type UsdtArch,
  type UsdtArg,
} from './native/usdt-args.js';
export { LD_CACHE_ABI, findInLdSoCache, parseLdSoCache, type LdCacheEntry } from './native/ld-so-cache.js';
