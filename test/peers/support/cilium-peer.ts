/**
 * The cilium/ebpf peer: the Go module at the version test/peers/cilium/go.mod
 * pins, fetched from the Go module proxy into Go's module cache, and our small
 * Go program built against it once per machine into the tsbpf cache
 * (~/.cache/tsbpf/peers, or $TSBPF_PEER_CACHE). Nothing of cilium/ebpf is
 * committed: its testdata objects are read where `go mod download` put them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../support/env.js';

const peerSource = join(repoRoot, 'test', 'peers', 'cilium');

export interface CiliumPeer {
  /** The pinned module version, e.g. v0.22.0. */
  readonly version: string;
  /** The module's files (testdata/*.elf, btf/testdata/*.elf). */
  readonly moduleDir: string;
  /** The built cilium-peer command. */
  readonly bin: string;
}

export function peerCacheDir(): string {
  return process.env.TSBPF_PEER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsbpf', 'peers');
}

const say = (s: string) => process.stderr.write(`[peers] ${s}\n`);

/** Downloads the module and builds the peer where missing; returns both. */
export function ciliumPeer(): CiliumPeer {
  const goMod = readFileSync(join(peerSource, 'go.mod'), 'utf8');
  const version = /github\.com\/cilium\/ebpf (v\S+)/.exec(goMod)?.[1];
  if (!version) throw new Error('test/peers/cilium/go.mod does not require github.com/cilium/ebpf');
  const go = (args: string[]) => execFileSync('go', args, { cwd: peerSource, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const { Dir: moduleDir } = JSON.parse(go(['mod', 'download', '-json', `github.com/cilium/ebpf@${version}`])) as { Dir: string };
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(peerSource, f)));
  const dir = join(peerCacheDir(), `cilium-ebpf-${version}`);
  const bin = join(dir, `cilium-peer-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) {
    say(`building the cilium/ebpf ${version} peer into ${dir} (once per machine)`);
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    go(['build', '-o', tmp, '.']);
    renameSync(tmp, bin);
  }
  return { version, moduleDir, bin };
}

export interface CiliumInstruction {
  readonly op: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  /** Decimal string: a 64-bit constant does not survive JSON as a number. */
  readonly imm: string;
  readonly symbol?: string;
  readonly ref?: string;
}

export interface CiliumProgram {
  readonly name: string;
  readonly sectionName: string;
  readonly type: number;
  readonly attachType: number;
  readonly attachTo: string;
  readonly license: string;
  readonly ownSlots: number;
  readonly instructions: readonly CiliumInstruction[];
}

export interface CiliumMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly pinning: number;
  readonly mapExtra: number;
  readonly innerMap?: CiliumMap;
}

export interface CiliumSpec {
  readonly byteOrder: 'little' | 'big';
  readonly programs: readonly CiliumProgram[];
  readonly maps: readonly CiliumMap[];
  readonly error?: string;
}

export function ciliumSpec(peer: CiliumPeer, file: string): CiliumSpec {
  return JSON.parse(execFileSync(peer.bin, ['spec', file], { encoding: 'utf8', maxBuffer: 64 << 20 })) as CiliumSpec;
}

/** Each program loaded on its own by cilium/ebpf and pinned at pinDir/<name>: name → '' or why not. */
export function ciliumLoad(peer: CiliumPeer, file: string, pinDir: string): { programs: Record<string, string>; error?: string } {
  return JSON.parse(execFileSync(peer.bin, ['load', file, pinDir], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
    programs: Record<string, string>;
    error?: string;
  };
}
