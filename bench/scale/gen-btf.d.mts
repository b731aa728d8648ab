/** Types of bench/scale/gen-btf.mjs, for test/bench-peers.test.ts. */
export declare const STRUCTS: number;
/** The base: a tsbpf Btf of vmlinux (findByName, length, stringsEnd). */
export declare function moduleBtf(base: unknown, m: number, structs?: number): Uint8Array;
export declare function writeModules(base: unknown, dir: string, count: number): string[];
