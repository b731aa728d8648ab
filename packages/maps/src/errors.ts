/**
 * The maps package's errors: every error it throws on purpose is one of
 * these TsbpfErrors, with a stable code (docs/errors.md lists them). The
 * kernel's refusals pass through as the loader's errors.
 */
import { TsbpfError, type TsbpfErrorOptions } from '@tsbpf/object';

export type CodecErrorCode =
  | 'CODEC_TYPE' // a value of the wrong JS type: not a number, bigint, boolean, object, string or byte array
  | 'CODEC_RANGE' // a number the C type cannot hold, or more elements, bytes or characters than fit
  | 'CODEC_FORMAT' // text that does not parse: an IPv4/IPv6 address, a CIDR prefix, an enumerator name
  | 'CODEC_MEMBER' // a struct member missing, or a union given none, or several disagreeing, of its members
  | 'CODEC_SIZE' // fewer bytes than the codec reads (a short ring record), or per-CPU values not one per CPU
  | 'CODEC_LAYOUT'; // no codec can be built: a BTF type without one, a member outside its struct

/** A value a codec cannot represent, bytes it cannot read, or a layout it cannot be built for. */
export class CodecError extends TsbpfError<CodecErrorCode> {
  override readonly name = 'CodecError';

  constructor(code: CodecErrorCode, message: string, options?: TsbpfErrorOptions) {
    super(code, message, options);
  }
}

export type MapSchemaErrorCode =
  | 'MAP_SCHEMA' // a codec's size is not the map's key or value size
  | 'MAP_TYPE' // a map of the wrong type for the class (a per-CPU map given to TypedMap, a hash to ProgramArray, ...)
  | 'GLOBAL_UNKNOWN' // no global variable of that name in the object
  | 'GLOBAL_READ_ONLY'; // a write to a `.rodata` variable, frozen at load

/** A map, or a global variable, used in a way its definition does not allow. */
export class MapSchemaError extends TsbpfError<MapSchemaErrorCode> {
  override readonly name = 'MapSchemaError';

  constructor(code: MapSchemaErrorCode, message: string, options?: TsbpfErrorOptions) {
    super(code, message, options);
  }
}

export type CodegenErrorCode =
  | 'GEN_RECORD' // a record type named for a map that is no ring buffer, or a struct the BTF lacks
  | 'GEN_TYPEDEF' // a typedef mapped to a codec that does not exist or does not fit it
  | 'GEN_NEEDS_OBJECT'; // bindings without the object asked for a type only BTF can decode (a union, a bit-field)

/** Bindings that cannot be generated as asked (`tsbpf gen`, generateBindings). */
export class CodegenError extends TsbpfError<CodegenErrorCode> {
  override readonly name = 'CodegenError';

  constructor(code: CodegenErrorCode, message: string, options?: TsbpfErrorOptions) {
    super(code, message, options);
  }
}
