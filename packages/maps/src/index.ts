/** The public API of @tsbpf/maps. */
export { decode, encode, type Codec, type Infer } from './codec.js';
export { CodecError, CodegenError, MapSchemaError, type CodecErrorCode, type CodegenErrorCode, type MapSchemaErrorCode } from './errors.js';
export {
  be16,
  be32,
  bool,
  bytes,
  cstring,
  f32,
  f64,
  formatIpv6,
  i16,
  i32,
  i64,
  i64AsNumber,
  i8,
  ipv4,
  ipv6,
  parseIpv6,
  u16,
  u32,
  u64,
  u64AsNumber,
  u8,
} from './primitives.js';
export { array, enumOf, struct, structAt, type PlacedField, type StructValue } from './composite.js';
export { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
export { PerCpuMap, TypedMap, sum, type SetOptions } from './typed-map.js';
export { typedMaps } from './typed-maps.js';
export { BloomFilter, MapOfMaps, ProgramArray, QueueMap, cidrKey, lpmKeyFamily } from './special-maps.js';
export { RingBuffer, type RingBufferOptions } from './ring-buffer.js';
export { iterRecords, type BtfRecordType } from './iter-records.js';
export { Globals, TypedGlobals } from './globals.js';
export { generateBindings, type GenerateOptions } from './codegen.js';
export { PerfBuffer, type PerfBufferOptions } from './perf-buffer.js';
export { fromRefStruct, type RefStructInstance, type RefStructType } from './ref-struct.js';
export { fromJsonData, hostMapCodecs, hostRecordCodec, jsonText, openHostMap, parseHex, toJsonData, type HostMap } from './host-map.js';
