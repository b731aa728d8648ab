/** The BTF API: parse, look up, dump (raw and C), BTF.ext. */
export { Btf, type BtfParseOptions } from './btf.js';
export {
  BtfFuncLinkage,
  BtfIntEncoding,
  BtfKind,
  BtfVarLinkage,
  btfKindNames,
  isModifier,
  type BtfArray,
  type BtfComposite,
  type BtfConst,
  type BtfDatasec,
  type BtfDeclTag,
  type BtfEnum,
  type BtfEnum64,
  type BtfFloat,
  type BtfFunc,
  type BtfFuncProto,
  type BtfFwd,
  type BtfInt,
  type BtfKindName,
  type BtfMember,
  type BtfPtr,
  type BtfRestrict,
  type BtfStruct,
  type BtfType,
  type BtfTypeOf,
  type BtfTypeTag,
  type BtfTypedef,
  type BtfUnion,
  type BtfVar,
  type BtfVarSecinfo,
  type BtfVoid,
  type BtfVolatile,
} from './types.js';
export { BTF_MAGIC, type BtfHeader } from './layout.js';
export { CoreReloKind, parseBtfExt, type BtfExt, type CoreRelo, type CoreReloKindName, type FuncInfoRecord, type LineInfoRecord } from './ext.js';
export { formatBtfJson, formatBtfRaw, intEncodingName, linkageName } from './format-raw.js';
export { btfCTagNames, formatBtfC, type FormatBtfCOptions } from './format-c.js';
