/**
 * Hostile BTF for robustness tests: small, valid-looking blobs built to make
 * naive recursion blow up (a DAG whose paths double at every level, function
 * prototypes whose parameters point back at themselves, a struct that contains
 * itself by value, a typedef without a name). Every function that walks types
 * must give an answer or a typed error on each of them, fast.
 */
import { BtfBuilder } from './btf-builder.js';

export interface HostileBtf {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The type to start from. */
  readonly root: number;
}

/** t[i+1] = struct { t[i] a; t[i] b; }: 2^depth paths through `depth` types. */
function doublingDag(depth: number): HostileBtf {
  const b = new BtfBuilder();
  let t = b.int('int', 4, { signed: true });
  let size = 4;
  for (let i = 0; i < depth; i++) {
    t = b.composite('struct', `s${i}`, size * 2, [
      { name: 'a', type: t, bitOffset: 0 },
      { name: 'b', type: t, bitOffset: size * 8 },
    ]);
    size *= 2;
    if (size > 1 << 24) size = 1 << 24; // sizes stop mattering; the paths still double
  }
  return { name: `doubling DAG of ${depth} structs`, bytes: b.build(), root: t };
}

/** A function pointer whose prototype returns and takes pointers to itself: every name of it branches three ways. */
function selfReferentialProto(): HostileBtf {
  const b = new BtfBuilder();
  // ids: 1 ptr -> 2, 2 func_proto(ret 1; params 1, 1)
  const ptr = b.ref('ptr', 2);
  b.funcProto(ptr, [
    ['a', ptr],
    ['b', ptr],
  ]);
  b.composite('struct', 'holder', 8, [{ name: 'f', type: ptr, bitOffset: 0 }]);
  return { name: 'self-referential function pointer', bytes: b.build(), root: ptr };
}

/** struct loop { struct loop inner; }: a cycle without a pointer (not C, but BTF can say it). */
function structContainingItself(): HostileBtf {
  const b = new BtfBuilder();
  const s = b.composite('struct', 'loop', 8, [{ name: 'inner', type: 1, bitOffset: 0 }]);
  return { name: 'struct containing itself', bytes: b.build(), root: s };
}

/** A cycle through an array and a typedef: typedef t; t[2] inside a struct that is t. */
function cycleThroughArray(): HostileBtf {
  const b = new BtfBuilder();
  // 1 int, 2 typedef loop_t -> 4, 3 array of 2 (loop_t), 4 struct loop { loop_t x[2]; }
  const int = b.int('int', 4, { signed: true });
  b.ref('typedef', 4, 'loop_t');
  const arr = b.array(2, int, 2);
  const s = b.composite('struct', 'loop', 16, [{ name: 'x', type: arr, bitOffset: 0 }]);
  return { name: 'cycle through an array and a typedef', bytes: b.build(), root: s };
}

/** A typedef with no name, used by a struct member. */
function anonymousTypedef(): HostileBtf {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const td = b.ref('typedef', int, '');
  const s = b.composite('struct', 'uses_it', 4, [{ name: 'x', type: td, bitOffset: 0 }]);
  return { name: 'typedef without a name', bytes: b.build(), root: s };
}

/** A chain of `depth` pointers, then a struct nested `depth` deep by value. */
function deepNesting(depth: number): HostileBtf {
  const b = new BtfBuilder();
  let t = b.int('int', 4, { signed: true });
  for (let i = 0; i < depth; i++) t = b.composite('struct', `n${i}`, 4, [{ name: 'x', type: t, bitOffset: 0 }]);
  for (let i = 0; i < depth; i++) t = b.ref('ptr', t);
  return { name: `${depth} levels of nesting and pointers`, bytes: b.build(), root: t };
}

/** A struct with many members of one type (wide fan-out). */
function wideFanOut(width: number): HostileBtf {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const members = Array.from({ length: width }, (_, i) => ({ name: `m${i}`, type: int, bitOffset: i * 32 }));
  const s = b.composite('struct', 'wide', width * 4, members);
  return { name: `struct of ${width} members`, bytes: b.build(), root: s };
}

export function hostileBtfs(): HostileBtf[] {
  return [doublingDag(41), selfReferentialProto(), structContainingItself(), cycleThroughArray(), anonymousTypedef(), deepNesting(2000), wideFanOut(20000)];
}
