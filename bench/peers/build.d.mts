/** Types of bench/peers/build.mjs, for test/bench-peers.test.ts. */
export interface BenchPeer {
  readonly name: 'cilium' | 'aya';
  readonly label: string;
  readonly version: string;
  readonly bin: string;
}
export declare function peerCacheDir(): string;
export declare function hasTool(cmd: string): boolean;
export declare function buildCilium(): BenchPeer;
export declare function buildAya(): BenchPeer;
export declare function buildPeers(options?: { required?: boolean }): { peers: BenchPeer[]; missing: string[] };
