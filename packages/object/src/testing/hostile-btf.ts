/**
 * Hostile BTF for robustness tests: small, valid-looking blobs built to make
 * naive recursion blow up: DAGs whose paths double at every level (of
 * structs and of unions), chains of unions (each level read twice by a naive
 * codec planner), anonymous members nested in each other, function
 * prototypes whose parameters point back at themselves, cycles (by value,
 * through arrays, typedefs, pointers and modifiers), deep nesting (tens of
 * thousands of structs, pointers, typedefs, arrays; a ring of as many
 * typedefs, consts and arrays), wide fan-out (structs,
 * prototypes and enums of the largest vlen), a typedef without a name, and
 * arrays of empty structs or of more than 4 GiB, a struct of 4 GiB. Every function that walks
 * types must give an answer or a typed error on each of them, fast.
 */
import { BtfBuilder } from './btf-builder.js';

export interface HostileBtf {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The type to start from. */
  readonly root: number;
}

/** A hostile shape: adds its types to a builder and returns the type to start from. */
export interface HostileShape {
  readonly name: string;
  readonly build: (b: BtfBuilder) => number;
}

const int = (b: BtfBuilder) => b.int('int', 4, { signed: true });

/** t[i+1] = struct { t[i] a; t[i] b; }: 2^depth paths through `depth` types. */
function doublingDag(depth: number, kind: 'struct' | 'union'): HostileShape {
  return {
    name: `doubling DAG of ${depth} ${kind}s`,
    build(b) {
      let t = int(b);
      let size = 4;
      for (let i = 0; i < depth; i++) {
        const next = kind === 'union' ? size : size * 2;
        t = b.composite(kind, `${kind[0]}${i}`, next, [
          { name: 'a', type: t, bitOffset: 0 },
          { name: 'b', type: t, bitOffset: kind === 'union' ? 0 : size * 8 },
        ]);
        size = Math.min(next, 1 << 24); // sizes stop mattering; the paths still double
      }
      return t;
    },
  };
}

/** union u[i+1] { union u[i] in; int x; }: a chain, yet a planner that weighs each union's members apart from its fields reads it 2^depth times. */
function unionChain(depth: number): HostileShape {
  return {
    name: `chain of ${depth} unions`,
    build(b) {
      const i32 = int(b);
      let t = b.composite('union', 'u0', 4, [{ name: 'a', type: i32, bitOffset: 0 }]);
      for (let i = 1; i <= depth; i++) {
        t = b.composite('union', `u${i}`, 4, [
          { name: 'in', type: t, bitOffset: 0 },
          { name: 'x', type: i32, bitOffset: 0 },
        ]);
      }
      return t;
    },
  };
}

/** Anonymous unions and structs inside each other, `depth` levels, each with a named member beside it. */
function anonymousNesting(depth: number): HostileShape {
  return {
    name: `${depth} levels of anonymous unions and structs`,
    build(b) {
      const i32 = int(b);
      let t = b.composite('struct', '', 4, [{ name: 'leaf', type: i32, bitOffset: 0 }]);
      for (let i = 0; i < depth; i++) {
        t = b.composite(i % 2 === 0 ? 'union' : 'struct', '', 4, [
          { name: '', type: t, bitOffset: 0 },
          ...(i % 2 === 0 ? [{ name: `m${i}`, type: i32, bitOffset: 0 }] : []),
        ]);
      }
      return b.composite('struct', 'outer', 4, [{ name: '', type: t, bitOffset: 0 }]);
    },
  };
}

/** A function pointer whose prototype returns and takes pointers to itself: every name of it branches three ways. */
const selfReferentialProto: HostileShape = {
  name: 'self-referential function pointer',
  build(b) {
    // ptr -> proto(ret ptr; params ptr, ptr)
    const ptr = b.ref('ptr', b.nextTypeId + 1);
    b.funcProto(ptr, [
      ['a', ptr],
      ['b', ptr],
    ]);
    b.composite('struct', 'holder', 8, [{ name: 'f', type: ptr, bitOffset: 0 }]);
    return ptr;
  },
};

/** struct loop { struct loop inner; }: a cycle without a pointer (not C, but BTF can say it). */
const structContainingItself: HostileShape = {
  name: 'struct containing itself',
  build: (b) => b.composite('struct', 'loop', 8, [{ name: 'inner', type: b.nextTypeId, bitOffset: 0 }]),
};

/** A cycle through an array and a typedef: typedef loop_t; loop_t[2] inside a struct that is loop_t. */
const cycleThroughArray: HostileShape = {
  name: 'cycle through an array and a typedef',
  build(b) {
    const i32 = int(b);
    const typedef = b.ref('typedef', b.nextTypeId + 2, 'loop_t');
    const arr = b.array(typedef, i32, 2);
    return b.composite('struct', 'loop', 16, [{ name: 'x', type: arr, bitOffset: 0 }]);
  },
};

/** typedef a -> const -> volatile -> typedef a: modifiers that never reach a type. */
const modifierCycle: HostileShape = {
  name: 'cycle of modifiers',
  build(b) {
    const first = b.nextTypeId;
    b.ref('typedef', first + 1, 'a_t');
    b.ref('const', first + 2);
    b.ref('volatile', first);
    return b.composite('struct', 'holder', 8, [{ name: 'x', type: first, bitOffset: 0 }]);
  },
};

/** Pointers to each other in a ring, and a struct holding one. */
const pointerCycle: HostileShape = {
  name: 'ring of pointers',
  build(b) {
    const first = b.nextTypeId;
    for (let i = 0; i < 8; i++) b.ref('ptr', first + ((i + 1) % 8));
    return b.composite('struct', 'ring', 8, [{ name: 'p', type: first, bitOffset: 0 }]);
  },
};

/** A typedef with no name, used by a struct member. */
const anonymousTypedef: HostileShape = {
  name: 'typedef without a name',
  build(b) {
    const td = b.ref('typedef', int(b), '');
    return b.composite('struct', 'uses_it', 4, [{ name: 'x', type: td, bitOffset: 0 }]);
  },
};

/** A struct nested `depth` deep by value, then a chain of `depth` pointers to it. */
function deepNesting(depth: number): HostileShape {
  return {
    name: `${depth} levels of nesting and pointers`,
    build(b) {
      let t = int(b);
      for (let i = 0; i < depth; i++) t = b.composite('struct', `n${i}`, 4, [{ name: 'x', type: t, bitOffset: 0 }]);
      for (let i = 0; i < depth; i++) t = b.ref('ptr', t);
      return b.composite('struct', 'top', 8, [{ name: 'p', type: t, bitOffset: 0 }]);
    },
  };
}

/** `depth` typedefs, consts and arrays of one element in turn, around an int. */
function deepModifiers(depth: number): HostileShape {
  return {
    name: `${depth} typedefs, consts and arrays around an int`,
    build(b) {
      const i32 = int(b);
      let t = i32;
      for (let i = 0; i < depth; i++) t = i % 3 === 0 ? b.ref('typedef', t, `t${i}`) : i % 3 === 1 ? b.ref('const', t) : b.array(t, i32, 1);
      return b.composite('struct', 'wrapped', 4, [{ name: 'x', type: t, bitOffset: 0 }]);
    },
  };
}

/** `depth` typedefs, consts and arrays in a ring: a walk from any of them meets the cycle only after `depth` steps. */
function modifierRing(depth: number): HostileShape {
  return {
    name: `ring of ${depth} typedefs, consts and arrays`,
    build(b) {
      const i32 = int(b);
      const first = b.nextTypeId;
      for (let i = 0; i < depth; i++) {
        const next = i === depth - 1 ? first : first + i + 1;
        if (i % 3 === 0) b.ref('typedef', next, `r${i}`);
        else if (i % 3 === 1) b.ref('const', next);
        else b.array(next, i32, 1);
      }
      return b.composite('struct', 'ringed', 4, [{ name: 'x', type: first, bitOffset: 0 }]);
    },
  };
}

/** A struct of the most members BTF allows, a prototype of the most parameters, an enum of the most values. */
const widest: HostileShape = {
  name: 'struct, prototype and enum of 65535 entries each',
  build(b) {
    const i32 = int(b);
    const n = 0xffff;
    const names = Array.from({ length: n }, (_, i) => `m${i}`);
    b.funcProto(
      i32,
      names.map((m) => [m, i32]),
    );
    const e = b.enum(
      'wide_enum',
      4,
      names.map((m, i) => [m, i]),
    );
    return b.composite(
      'struct',
      'wide',
      n * 4 + 4,
      [...names.map((m, i) => ({ name: m, type: i32, bitOffset: i * 32 })), { name: 'e', type: e, bitOffset: n * 32 }].slice(0, n),
    );
  },
};

/** Arrays that say more than they hold: 2^32-1 empty structs, and 2^32-1 ints (16 GiB). */
const hugeArrays: HostileShape = {
  name: 'arrays of 2^32-1 empty structs and of 2^32-1 ints',
  build(b) {
    const i32 = int(b);
    const empty = b.composite('struct', 'empty', 0, []);
    const many = b.array(empty, i32, 0xffffffff);
    const huge = b.array(i32, i32, 0xffffffff);
    return b.composite('struct', 'claims', 8, [
      { name: 'many', type: many, bitOffset: 0 },
      { name: 'huge', type: huge, bitOffset: 0 },
    ]);
  },
};

/** A struct that says it is 4 GiB, holding one int: nothing may allocate its size to look at it. */
const vastStruct: HostileShape = {
  name: 'struct of 4 GiB holding an int',
  build: (b) => b.composite('struct', 'vast', 0xffffffff, [{ name: 'x', type: int(b), bitOffset: 0 }]),
};

/** Members outside their struct: at a bit offset past its size, and a union smaller than its members. */
const membersOutside: HostileShape = {
  name: 'members outside their struct',
  build(b) {
    const i64 = b.int('long', 8, { signed: true });
    const small = b.composite('union', 'small', 2, [{ name: 'wide', type: i64, bitOffset: 0 }]);
    return b.composite('struct', 'outside', 4, [
      { name: 'far', type: i64, bitOffset: 0xfffffff0 },
      { name: 'u', type: small, bitOffset: 0 },
    ]);
  },
};

export function hostileShapes(): HostileShape[] {
  return [
    doublingDag(41, 'struct'),
    doublingDag(41, 'union'),
    unionChain(40),
    anonymousNesting(40),
    selfReferentialProto,
    structContainingItself,
    cycleThroughArray,
    modifierCycle,
    pointerCycle,
    anonymousTypedef,
    deepNesting(2000),
    deepNesting(30000),
    deepModifiers(30000),
    modifierRing(30000),
    widest,
    hugeArrays,
    vastStruct,
    membersOutside,
  ];
}

/** Each shape alone in a blob. */
export function hostileBtfs(): HostileBtf[] {
  return hostileShapes().map((s) => {
    const b = new BtfBuilder();
    const root = s.build(b);
    return { name: s.name, bytes: b.build(), root };
  });
}
