/**
 * The decoded form of a BTF type: a discriminated union keyed by `kind`.
 * Every type carries its `id` and `name` ('' when anonymous); references to
 * other types are ids, resolved through `Btf.type(id)`.
 */

/** BTF_KIND_* numbers, as in include/uapi/linux/btf.h. */
export const BtfKind = {
  void: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;
export type BtfKindName = keyof typeof BtfKind;
export const BTF_KIND_MAX = 19;

/** Kind names by number (index = BTF_KIND_*). */
export const btfKindNames: readonly BtfKindName[] = Object.keys(BtfKind) as BtfKindName[];

/** BTF_INT_* encoding bits. */
export const BtfIntEncoding = { signed: 1, char: 2, bool: 4 } as const;
/** BTF_FUNC_* linkage of a FUNC (kept as a number: bad values are still dumpable). */
export const BtfFuncLinkage = { static: 0, global: 1, extern: 2 } as const;
/** BTF_VAR_* linkage of a VAR. */
export const BtfVarLinkage = { static: 0, global: 1, extern: 2 } as const;

interface Base {
  readonly id: number;
  readonly name: string;
}

export interface BtfVoid extends Base {
  readonly kind: 'void';
}
export interface BtfInt extends Base {
  readonly kind: 'int';
  readonly size: number;
  /** BTF_INT_ENCODING bits (signed 1, char 2, bool 4). */
  readonly encoding: number;
  readonly signed: boolean;
  readonly bitOffset: number;
  readonly bits: number;
}
/** A type that only refers to another one. */
export interface BtfRef<K extends 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'> extends Base {
  readonly kind: K;
  readonly type: number;
}
export type BtfPtr = BtfRef<'ptr'>;
export type BtfTypedef = BtfRef<'typedef'>;
export type BtfVolatile = BtfRef<'volatile'>;
export type BtfConst = BtfRef<'const'>;
export type BtfRestrict = BtfRef<'restrict'>;
export type BtfTypeTag = BtfRef<'type_tag'>;

export interface BtfArray extends Base {
  readonly kind: 'array';
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  /** 0 unless the member is a bitfield. */
  readonly bitfieldSize: number;
}
export interface BtfComposite<K extends 'struct' | 'union'> extends Base {
  readonly kind: K;
  readonly size: number;
  readonly members: readonly BtfMember[];
}
export type BtfStruct = BtfComposite<'struct'>;
export type BtfUnion = BtfComposite<'union'>;

export interface BtfEnum extends Base {
  readonly kind: 'enum';
  readonly size: number;
  readonly signed: boolean;
  /** Values as signed (signed enums) or unsigned 32-bit numbers. */
  readonly values: readonly { readonly name: string; readonly value: number }[];
}
export interface BtfEnum64 extends Base {
  readonly kind: 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly { readonly name: string; readonly value: bigint }[];
}
export interface BtfFwd extends Base {
  readonly kind: 'fwd';
  readonly fwdKind: 'struct' | 'union';
}
export interface BtfFunc extends Base {
  readonly kind: 'func';
  /** The FUNC_PROTO. */
  readonly type: number;
  /** BtfFuncLinkage value. */
  readonly linkage: number;
}
export interface BtfFuncProto extends Base {
  readonly kind: 'func_proto';
  readonly returnType: number;
  /** A last parameter with name '' and type 0 marks a variadic function. */
  readonly params: readonly { readonly name: string; readonly type: number }[];
}
export interface BtfVar extends Base {
  readonly kind: 'var';
  readonly type: number;
  /** BtfVarLinkage value. */
  readonly linkage: number;
}
export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}
export interface BtfDatasec extends Base {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}
export interface BtfFloat extends Base {
  readonly kind: 'float';
  readonly size: number;
}
export interface BtfDeclTag extends Base {
  readonly kind: 'decl_tag';
  readonly type: number;
  /** -1: the tag applies to the type itself; otherwise a member or parameter index. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

/** The BtfType variant for a kind name. */
export type BtfTypeOf<K extends BtfKindName> = Extract<BtfType, { kind: K }>;

/** Kinds that only qualify another type (skipped by `resolve`). */
export function isModifier(kind: BtfKindName): boolean {
  return kind === 'typedef' || kind === 'volatile' || kind === 'const' || kind === 'restrict' || kind === 'type_tag';
}
