/** Types of the part of bench/support/compare.mjs that test/bench-launcher.test.ts uses. */
export declare function runJson(bin: string, args: (string | number)[]): Promise<unknown>;
export declare function startHelpers(): void;
