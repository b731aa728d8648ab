export { ObjectParseError, TsbpfError, withContext, type ByteOrder, type ObjectParseErrorCode, type ObjectParseErrorOptions, type TsbpfErrorOptions } from './errors.js';
export { parseCollectionSpec, type ParseOptions } from './collection-spec.js';
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
