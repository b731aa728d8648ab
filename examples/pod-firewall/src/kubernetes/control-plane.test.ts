/**
 * The Kubernetes control plane the agent's tests run against: built once per
 * machine, started on 127.0.0.1 with TLS and RBAC, answering as a real API
 * server does without controllers, and gone after `stop()` or the death of
 * the process that started it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeds, hasCommand } from '../../../../test/support/env.js';
import { FirewallError } from '../errors.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, sweepStaleControlPlanes, type ControlPlane } from './testing/control-plane.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pidsOf = (exe: string) => (spawnSyncText('pgrep', ['-f', exe]) ?? '').split('\n').filter(Boolean).map(Number);
function spawnSyncText(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

describeNeeds([controlPlaneAvailable(), hasCommand('openssl'), hasCommand('setpriv')], 'a real Kubernetes control plane', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  }, 40 * 60_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the pinned Kubernetes version over TLS to the admin', () => {
    const version = JSON.parse(cp.kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(cp.binaries.kubernetesVersion);
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('holds pods the way a cluster without a kubelet does: nodeName given, IPs patched on status', () => {
    const ns = `cp-${process.pid}`;
    cp.kubectl(['create', 'namespace', ns]);
    cp.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
        spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'none' }] },
      }),
    );
    cp.kubectl([
      'patch',
      'pod',
      'web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] } }),
    ]);
    const pod = JSON.parse(cp.kubectl(['get', 'pod', 'web', '-n', ns, '-o', 'json'])) as { spec: { nodeName: string }; status: { podIPs: { ip: string }[] } };
    expect(pod.spec.nodeName).toBe('node-a');
    expect(pod.status.podIPs).toEqual([{ ip: '10.244.1.5' }]);
    cp.kubectl(['delete', 'pod', 'web', '-n', ns, '--grace-period=0', '--force', '--wait=false']);
  });

  it('enforces RBAC: a ServiceAccount with no binding is refused, one with a binding is let in', () => {
    const ns = `rbac-${process.pid}`;
    cp.kubectl(['create', 'namespace', ns]);
    cp.kubectl(['create', 'serviceaccount', 'reader', '-n', ns]);
    const kubeconfig = cp.serviceAccountKubeconfig(ns, 'reader');
    const asReader = (args: string[]) => spawnSyncText(cp.binaries.kubectl, ['--kubeconfig', kubeconfig, ...args]);
    expect(asReader(['get', 'pods', '-A'])).toBeUndefined();
    cp.kubectl(['create', 'clusterrole', `pod-reader-${process.pid}`, '--verb=list', '--resource=pods']);
    cp.kubectl(['create', 'clusterrolebinding', `pod-reader-${process.pid}`, `--clusterrole=pod-reader-${process.pid}`, `--serviceaccount=${ns}:reader`]);
    expect(asReader(['get', 'pods', '-A', '-o', 'name'])).toBeDefined();
    expect(asReader(['get', 'secrets', '-A'])).toBeUndefined();
  });

  it('reports kubectl failures as CONTROL_PLANE with what kubectl said', () => {
    let error: unknown;
    try {
      cp.kubectl(['get', 'pod', 'no-such-pod', '-n', 'default']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FirewallError);
    expect((error as FirewallError).code).toBe('CONTROL_PLANE');
    expect((error as Error).message).toMatch(/no-such-pod.*not found/);
  });

  it('dies with the process that started it (kill -9), leaving no server behind', async () => {
    // A child that starts its own control plane, says its servers' pids, then waits to be killed.
    // Inside the package, so that the bundle's imports resolve from its node_modules.
    const cache = fileURLToPath(new URL('../../node_modules/.cache', import.meta.url));
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'cp-child-'));
    try {
      const entry = join(dir, 'child.mjs');
      await build({
        stdin: {
          contents: `import { startControlPlane } from ${JSON.stringify(fileURLToPath(new URL('./testing/control-plane.ts', import.meta.url)))};
            const cp = await startControlPlane();
            process.stdout.write(JSON.stringify({ dir: cp.adminKubeconfig }) + '\\n');
            setInterval(() => {}, 1000);`,
          resolveDir: dir,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        outfile: entry,
        logLevel: 'silent',
      });
      const before = new Set([...pidsOf(cp.binaries.apiserver), ...pidsOf(cp.binaries.etcd)]);
      const child = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('.', import.meta.url)) });
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code} before its control plane was up`)));
      });
      const { dir: kubeconfig } = JSON.parse(line) as { dir: string };
      const theirs = [...pidsOf(cp.binaries.apiserver), ...pidsOf(cp.binaries.etcd)].filter((p) => !before.has(p));
      expect(theirs.length).toBeGreaterThanOrEqual(2);
      child.kill('SIGKILL');
      const deadline = Date.now() + 20_000;
      while (theirs.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(theirs.filter(alive)).toEqual([]);
      // Its directory (keys, tokens) goes with the next sweep, which every start does.
      expect(existsSync(kubeconfig)).toBe(true);
      sweepStaleControlPlanes();
      expect(existsSync(kubeconfig)).toBe(false);
      expect(existsSync(cp.adminKubeconfig)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
