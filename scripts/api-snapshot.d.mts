/** Types of scripts/api-snapshot.mjs, for test/api.test.ts. */
export declare const repoRoot: string;
export declare const API_PACKAGES: readonly string[];
export declare function builtDeclarations(pkg: string): string;
export declare function snapshotPath(pkg: string): string;
export declare function apiOf(declarations: string, fileName?: string): string;
