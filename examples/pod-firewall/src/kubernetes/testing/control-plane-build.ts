/**
 * The Kubernetes control plane's binaries (kube-apiserver, kubectl, etcd),
 * built from the Go modules of k8s/control-plane/ (versions pinned by their
 * go.mod and go.sum) once per machine into a cache (~/.cache/tsbpf/k8s, or
 * $TSBPF_K8S_CACHE), lazily, by the tests and commands that need them, with
 * Go's progress on stderr. No registry ships kube-apiserver: see
 * ../shared/notes/k8s-notes.md. Builders in several processes wait for one
 * another on a lock file, and a binary appears under its final name only
 * when complete.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { packageDir } from '../../cluster/agents.js';
import { FirewallError } from '../../errors.js';

interface FsNativeExtensions {
  tryLock(fd: number): boolean;
  waitForLock(fd: number): Promise<void>;
}
// A CommonJS addon (N-API); the lock is the kernel's, released when the process ends.
const fsx = createRequire(import.meta.url)('fs-native-extensions') as FsNativeExtensions;

/** The Go modules that pin the control plane (examples/pod-firewall/k8s/control-plane), found from the package (also when bundled into dist/). */
export const controlPlaneModules = () => join(packageDir(), 'k8s', 'control-plane');

export interface ControlPlaneBinaries {
  readonly apiserver: string;
  readonly kubectl: string;
  readonly etcd: string;
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
}

export function controlPlaneCacheDir(): string {
  return process.env.TSBPF_K8S_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsbpf', 'k8s');
}

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the binaries can be had here (built already, or `go` on PATH to build them), and why not. */
export function controlPlaneAvailable(): { ok: boolean; reason: string } {
  const reason = 'needs `go` on PATH to build kube-apiserver and etcd (once per machine, into ~/.cache/tsbpf/k8s)';
  try {
    if (existsSync(planned().apiserver) && existsSync(planned().etcd) && existsSync(planned().kubectl)) return { ok: true, reason };
  } catch {
    // go.mod unreadable: fall through to the go check, the build then names the problem
  }
  return { ok: hasGo(), reason };
}

function pinned(goMod: string, module: string): string {
  let text: string;
  try {
    text = readFileSync(goMod, 'utf8');
  } catch (e) {
    throw new FirewallError('CONTROL_PLANE', `cannot read ${goMod}, which pins the control plane: ${(e as Error).message}`, { cause: e });
  }
  const m = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')} (v\\S+)`, 'm').exec(text);
  if (!m) throw new FirewallError('CONTROL_PLANE', `${goMod} does not pin ${module}`);
  return m[1]!;
}

/** A hash of a module's sources: a change of go.mod, go.sum or a .go file rebuilds. */
function sourceHash(dir: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const f of files) if (existsSync(join(dir, f))) hash.update(f).update(readFileSync(join(dir, f)));
  return hash.digest('hex').slice(0, 12);
}

function planned(): ControlPlaneBinaries {
  const k8s = join(controlPlaneModules(), 'kubernetes');
  const etcdDir = join(controlPlaneModules(), 'etcd');
  const kubernetesVersion = pinned(join(k8s, 'go.mod'), 'k8s.io/kubernetes');
  const etcdVersion = pinned(join(etcdDir, 'go.mod'), 'go.etcd.io/etcd/server/v3');
  const bin = join(controlPlaneCacheDir(), 'bin');
  const kh = sourceHash(k8s, ['go.mod', 'go.sum']);
  const eh = sourceHash(etcdDir, ['go.mod', 'go.sum', 'main.go']);
  return {
    apiserver: join(bin, `kube-apiserver-${kubernetesVersion}-${kh}`),
    kubectl: join(bin, `kubectl-${kubernetesVersion}-${kh}`),
    etcd: join(bin, `etcd-${etcdVersion}-${eh}`),
    kubernetesVersion,
    etcdVersion,
  };
}

const say = (s: string) => process.stderr.write(`[k8s] ${s}\n`);

function goBuild(moduleDir: string, pkg: string, out: string, ldflags: string): Promise<void> {
  const cache = controlPlaneCacheDir();
  const tmp = `${out}.${process.pid}.build`;
  const env = {
    ...process.env,
    // Our own module and build caches: reused by the next build, never the user's.
    GOMODCACHE: join(cache, 'gomod'),
    GOCACHE: join(cache, 'gocache'),
    GOFLAGS: '-mod=readonly',
    CGO_ENABLED: '0',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', tmp, pkg], { cwd: moduleDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => reject(new FirewallError('CONTROL_PLANE', `go build ${pkg}: ${e.message}`, { cause: e })));
    child.on('exit', (code, signal) => {
      if (code === 0) {
        renameSync(tmp, out);
        resolve();
      } else {
        rmSync(tmp, { force: true });
        reject(new FirewallError('CONTROL_PLANE', `go build ${pkg} failed (${signal ?? `exit ${code}`}); its output is above`));
      }
    });
  });
}

/**
 * The binaries, built where missing: the first time on a machine this takes
 * minutes (module download, then about 5 min of compiling kube-apiserver on
 * 2 cores); later calls return at once.
 */
export async function ensureControlPlane(): Promise<ControlPlaneBinaries> {
  const want = planned();
  const missing = () => [want.apiserver, want.kubectl, want.etcd].filter((p) => !existsSync(p));
  if (missing().length === 0) return want;
  if (!hasGo()) throw new FirewallError('CONTROL_PLANE', controlPlaneAvailable().reason);
  const cache = controlPlaneCacheDir();
  mkdirSync(join(cache, 'bin'), { recursive: true });
  const fd = openSync(join(cache, 'build.lock'), 'a');
  try {
    // Another process building: wait for it, then build only what it left missing.
    if (!fsx.tryLock(fd)) {
      say('another process is building the control plane; waiting for it');
      await fsx.waitForLock(fd);
    }
    const started = Date.now();
    const versionFlags = (v: string) => {
      const [major, minor] = v.replace(/^v/, '').split('.');
      const pkg = 'k8s.io/component-base/version';
      return `-s -w -X ${pkg}.gitVersion=${v} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}`;
    };
    const k8s = join(controlPlaneModules(), 'kubernetes');
    if (!existsSync(want.apiserver)) {
      say(`building kube-apiserver ${want.kubernetesVersion} into ${cache} (once per machine: minutes)`);
      await goBuild(k8s, 'k8s.io/kubernetes/cmd/kube-apiserver', want.apiserver, versionFlags(want.kubernetesVersion));
    }
    if (!existsSync(want.kubectl)) {
      say(`building kubectl ${want.kubernetesVersion}`);
      await goBuild(k8s, 'k8s.io/kubernetes/cmd/kubectl', want.kubectl, versionFlags(want.kubernetesVersion));
    }
    if (!existsSync(want.etcd)) {
      say(`building etcd ${want.etcdVersion}`);
      await goBuild(join(controlPlaneModules(), 'etcd'), '.', want.etcd, '-s -w');
    }
    say(`control plane ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    closeSync(fd);
  }
  const still = missing();
  if (still.length > 0) throw new FirewallError('CONTROL_PLANE', `control plane build left ${still.join(', ')} missing`);
  return want;
}
