/**
 * A real Kubernetes control plane on 127.0.0.1 for the tests and the demo:
 * etcd and kube-apiserver (TLS with a CA of its own, a static admin token,
 * RBAC, service-account tokens), started in a private temporary directory
 * and stopped on `stop()`; children die with this process (parent-death
 * signal), so a crashed test leaves no server behind. Nothing else runs:
 * no scheduler, no kubelet, no controllers (../shared/notes/k8s-notes.md
 * says what that implies: pods get their nodeName and IPs from the caller).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { get as plainGet } from 'node:http';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirewallError } from '../../errors.js';
import { ensureControlPlane, type ControlPlaneBinaries } from './control-plane-build.js';

export interface ControlPlane extends AsyncDisposable {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** A kubeconfig of a `system:masters` user (static token). */
  readonly adminKubeconfig: string;
  /** The CA that signed the server's certificate (PEM file). */
  readonly caFile: string;
  readonly binaries: ControlPlaneBinaries;
  /** kubectl with the admin kubeconfig; a failure is CONTROL_PLANE with its output. */
  kubectl(args: readonly string[], input?: string): string;
  /** A kubeconfig for an existing ServiceAccount, with a token from the TokenRequest API (valid 24 h). */
  serviceAccountKubeconfig(namespace: string, name: string): string;
  stop(): Promise<void>;
}

const DIR_PREFIX = 'tsbpf-k8s-';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new FirewallError('CONTROL_PLANE', `openssl ${args[0]}: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`, { cause: e });
  }
}

/** A CA, the server's certificate (SANs 127.0.0.1, localhost) and the service-account signing key. */
function makePki(dir: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tsbpf-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kube-apiserver', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt'],
    dir,
  );
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
}

function kubeconfig(server: string, caFile: string, user: string, token: string): string {
  // JSON is YAML: kubectl and client-node read it.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tsbpf', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'tsbpf', context: { cluster: 'tsbpf', user } }],
    'current-context': 'tsbpf',
  });
}

/** Starts a server child whose output goes to `log`, killed if this process dies. */
function startChild(bin: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    return spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function httpGet(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = plainGet(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function get(url: string, opts: { ca?: Buffer; token?: string }): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitUntil(what: string, child: ChildProcess, log: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new FirewallError('CONTROL_PLANE', `${what} exited (${child.signalCode ?? `exit ${child.exitCode}`}):\n${tail(log)}`);
    }
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new FirewallError('CONTROL_PLANE', `${what} not ready within ${timeoutMs / 1000} s:\n${tail(log)}`);
}

function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Directories of earlier runs whose process is gone (a crash, a SIGKILL): their servers died with it. */
export function sweepStaleControlPlanes(): void {
  for (const d of readdirSync(tmpdir())) {
    if (!d.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), d);
    let pid = 0;
    try {
      pid = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      process.kill(pid, 0);
    } catch (e) {
      if (pid === 0 || (e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(dir, { recursive: true, force: true });
    }
  }
}

export interface ControlPlaneOptions {
  /** How long etcd and kube-apiserver may take to become ready (default 120 s: a loaded machine is slow). */
  readonly readyTimeoutMs?: number;
}

/**
 * Builds the binaries where missing (see control-plane-build.ts), then starts
 * etcd and kube-apiserver and waits for `/readyz`. Stop it with `stop()` or
 * `await using`.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await ensureControlPlane();
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  sweepStaleControlPlanes();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    makePki(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const etcd = startChild(
      binaries.etcd,
      [
        '--name=tsbpf',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=tsbpf=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      etcdLog,
    );
    children.push(etcd);
    await waitUntil('etcd', etcd, etcdLog, readyTimeoutMs, async () => (await httpGet(`${etcdUrl}/health`)) === 200);
    const server = `https://127.0.0.1:${apiPort}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    const api = startChild(
      binaries.apiserver,
      [
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--etcd-servers=${etcdUrl}`,
        `--tls-cert-file=${join(dir, 'server.crt')}`,
        `--tls-private-key-file=${join(dir, 'server.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        `--service-account-key-file=${join(dir, 'sa.key')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--service-cluster-ip-range=10.96.0.0/12',
        '--endpoint-reconciler-type=none',
        // No controllers run: no default ServiceAccount is ever made, so its admission would refuse every pod.
        '--disable-admission-plugins=ServiceAccount',
        '--v=0',
      ],
      apiLog,
    );
    children.push(api);
    const ca = readFileSync(join(dir, 'ca.crt'));
    await waitUntil('kube-apiserver', api, apiLog, readyTimeoutMs, async () => (await get(`${server}/readyz`, { ca, token })) === 200);
    const caFile = join(dir, 'ca.crt');
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfig(server, caFile, 'admin', token), { mode: 0o600 });
    const kubectl = (args: readonly string[], input?: string): string => {
      try {
        return execFileSync(binaries.kubectl, ['--kubeconfig', adminKubeconfig, ...args], {
          encoding: 'utf8',
          input,
          stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new FirewallError('CONTROL_PLANE', `kubectl ${args.join(' ')}: ${(err.stderr || err.stdout || err.message).trim()}`, { cause: e });
      }
    };
    let accounts = 0;
    return {
      server,
      adminKubeconfig,
      caFile,
      binaries,
      kubectl,
      serviceAccountKubeconfig(namespace: string, name: string): string {
        const saToken = kubectl(['create', 'token', name, '-n', namespace, '--duration=24h']).trim();
        const path = join(dir, `sa-${++accounts}.kubeconfig`);
        writeFileSync(path, kubeconfig(server, caFile, `system:serviceaccount:${namespace}:${name}`, saToken), { mode: 0o600 });
        return path;
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
