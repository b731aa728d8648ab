#!/usr/bin/env node
// Builds the benchmarks' Go and Rust peers (bench/peers/cilium against
// cilium/ebpf, bench/peers/aya against aya) from their registries, at the
// versions go.sum and Cargo.lock pin, once per machine into the tsbpf peer
// cache (~/.cache/tsbpf/peers, or $TSBPF_PEER_CACHE), with the tools'
// progress on stderr. `node bench/peers/build.mjs` builds both and prints
// where they are.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function peerCacheDir() {
  return process.env.TSBPF_PEER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsbpf', 'peers');
}

const say = (s) => process.stderr.write(`[peers] ${s}\n`);

export function hasTool(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A hash of the peer's sources and lock files: a change rebuilds it. */
function sourceHash(dir, files) {
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(dir, f)));
  return hash.digest('hex').slice(0, 12);
}

function pinned(file, re, what) {
  const v = re.exec(readFileSync(file, 'utf8'))?.[1];
  if (!v) throw new Error(`${file} does not pin ${what}`);
  return v;
}

/** Where a finished build goes: written under a temporary name, then renamed (two builders may race). */
function install(from, bin) {
  const tmp = `${bin}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, bin);
}

/** The cilium/ebpf peer: { name, version, bin }, built where missing. */
export function buildCilium() {
  const dir = join(here, 'cilium');
  const version = pinned(join(dir, 'go.mod'), /github\.com\/cilium\/ebpf (v\S+)/, 'github.com/cilium/ebpf');
  const sources = ['go.mod', 'go.sum', ...readdirSync(dir).filter((f) => f.endsWith('.go'))].sort();
  const out = join(peerCacheDir(), `bench-cilium-ebpf-${version}`);
  const bin = join(out, `bench-cilium-${sourceHash(dir, sources)}`);
  if (!existsSync(bin)) {
    if (!hasTool('go')) throw new Error('the cilium/ebpf peer needs `go` on PATH');
    say(`building the cilium/ebpf ${version} bench peer into ${out} (once per machine; Go fetches the module from its proxy)`);
    mkdirSync(out, { recursive: true });
    const t = Date.now();
    const tmp = `${bin}.${process.pid}.build`;
    execFileSync('go', ['build', '-mod=readonly', '-trimpath', '-v', '-o', tmp, '.'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    renameSync(tmp, bin);
    say(`built ${bin} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return { name: 'cilium', label: `cilium/ebpf ${version}`, version, bin };
}

/** The aya peer: { name, version, bin }, built where missing (the first build compiles aya: a minute or two). */
export function buildAya() {
  const dir = join(here, 'aya');
  const version = pinned(join(dir, 'Cargo.lock'), /name = "aya"\nversion = "([^"]+)"/, 'aya');
  const sources = ['Cargo.toml', 'Cargo.lock', ...readdirSync(join(dir, 'src')).map((f) => join('src', f))].sort();
  const out = join(peerCacheDir(), `bench-aya-${version}`);
  const bin = join(out, `bench-aya-${sourceHash(dir, sources)}`);
  if (!existsSync(bin)) {
    if (!hasTool('cargo')) throw new Error('the aya peer needs `cargo` on PATH');
    say(`building the aya ${version} bench peer into ${out} (once per machine; cargo fetches the crates, the first build takes a minute or two)`);
    mkdirSync(out, { recursive: true });
    const t = Date.now();
    const target = join(out, 'target');
    execFileSync('cargo', ['build', '--release', '--locked', '--manifest-path', join(dir, 'Cargo.toml'), '--target-dir', target], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    install(join(target, 'release', 'bench-aya'), bin);
    say(`built ${bin} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return { name: 'aya', label: `aya ${version}`, version, bin };
}

/**
 * Both peers, each built where missing. A peer whose tool is missing or whose
 * build fails is left out with the reason (the benches then print libbpf and
 * tsbpf alone for it) unless `required`.
 */
export function buildPeers({ required = false } = {}) {
  const peers = [];
  const missing = [];
  for (const build of [buildCilium, buildAya]) {
    try {
      peers.push(build());
    } catch (e) {
      if (required) throw e;
      missing.push(e.message);
      say(`left out: ${e.message}`);
    }
  }
  return { peers, missing };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { peers } = buildPeers({ required: true });
  for (const p of peers) console.log(`${p.label}: ${p.bin}`);
}
