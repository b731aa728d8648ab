import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodFirewall } from './firewall.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

/**
 * The built `pod-firewall` binary end to end, as a user runs it: each
 * command a separate process that adopts what `up` pinned.
 */

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const NAME = `pfc${process.pid % 10000}`;
// Addresses of their own, so a leak from this suite cannot be mistaken for another's.
const CLUSTER = `podCidr: 10.251.0.0/16
namespaces:
  - name: x
    labels: { ns: x }
    pods:
      - { name: a, labels: { pod: a }, ports: [{ port: 80, protocol: TCP, name: http }, { port: 81, protocol: UDP }] }
      - { name: b, labels: { pod: b }, ports: [{ port: 80, protocol: TCP, name: http }, { port: 81, protocol: UDP }] }
  - name: y
    labels: { ns: y }
    pods:
      - { name: a, labels: { pod: a }, ports: [{ port: 80, protocol: TCP, name: http }, { port: 81, protocol: UDP }] }
`;
const policy = (name: string, spec: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: x\nspec:\n${spec}`;
const GOOD = [
  policy('deny', '  podSelector: {}\n'),
  policy('web', '  podSelector: { matchLabels: { pod: a } }\n  ingress:\n    - from: [{ namespaceSelector: {} }]\n      ports: [{ port: http }]\n'),
].join('---\n');
// The second document is wrong: the first must not be applied either.
const BAD = [policy('deny', '  podSelector: {}\n'), policy('web', '  podSelector: {}\n  ingress:\n    - ports: [{ port: 70000 }]\n')].join('---\n');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, '--name', NAME, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and expects exit 0, showing stderr when not. */
function ok(...args: string[]): string {
  const r = cli(...args);
  expect(r.stderr, `pod-firewall ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const deniedNow = () => (JSON.parse(ok('probe', '--json', '--timeout', '1500')) as { denied: string[] }).denied;

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'pod-firewall CLI on real namespaces', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build it first (cd examples/pod-firewall && npx tsup, or scripts/bootstrap)`);
    dir = mkdtempSync(join(tmpdir(), 'pod-firewall-cli-'));
  });
  afterAll(() => {
    // Down through the CLI, and directly as well in case the CLI is what broke.
    const r = cli('down');
    PodFirewall.down({ name: NAME });
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`${NAME}.`))).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${NAME}`)).toBe(false);
  });

  it('tells the user when nothing is up, or a file is missing', () => {
    const status = cli('status');
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`no cluster named ${NAME} is up`);
    const up = cli('up', join(dir, 'nope.yaml'));
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('nope.yaml: no such file');
  });

  it('brings a cluster up; without policy every flow connects', () => {
    const out = ok('up', file('cluster.yaml', CLUSTER));
    expect(out).toContain('3 pods in 2 namespaces');
    expect(out).toContain('10.251.1.11');
    expect(deniedNow()).toEqual([]);
  }, 120_000);

  it('rejects a bad manifest naming the field, and changes nothing', () => {
    const r = cli('apply', file('bad.yaml', BAD));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.ingress[0].ports[0].port');
    expect(r.stderr).toContain('document 1');
    const status = JSON.parse(ok('status', '--json')) as { policies: string[] };
    expect(status.policies).toEqual([]);
  });

  it('refuses hostile YAML (an alias bomb, a huge file, on stdin too) with a clear error, and changes nothing', () => {
    const levels = ['l0: &l0 ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `l${i}: &l${i} [${Array(9)
          .fill(`*l${i - 1}`)
          .join(',')}]`,
      );
    const bomb = cli('apply', file('bomb.yaml', `${policy('deny', '  podSelector: {}\n')}bomb:\n  ${levels.join('\n  ')}\n`));
    expect(bomb.code).toBe(1);
    expect(bomb.stderr).toContain('bomb.yaml: YAML aliases expand too far');
    const huge = spawnSync(process.execPath, [MAIN, '--name', NAME, 'apply', '-'], { input: `# ${'x'.repeat(5 << 20)}\n`, encoding: 'utf8' });
    expect(huge.status).toBe(1);
    expect(huge.stderr).toContain('standard input: YAML input too large');
    const status = JSON.parse(ok('status', '--json')) as { policies: string[] };
    expect(status.policies).toEqual([]);
  });

  it('applies policies; the probe shows the denials', () => {
    const out = ok('apply', file('good.yaml', GOOD));
    expect(out).toContain('networkpolicy x/deny created');
    expect(out).toContain('networkpolicy x/web created');
    // Ingress of x is isolated; x/a takes 'http' (TCP 80) from anyone; x's egress and replies still work.
    expect(deniedNow()).toEqual(['x/a->x/b:TCP/80', 'x/a->x/b:UDP/81', 'x/b->x/a:UDP/81', 'y/a->x/a:UDP/81', 'y/a->x/b:TCP/80', 'y/a->x/b:UDP/81']);
    expect(ok('probe', '--timeout', '1500')).toContain('TCP/80  x/a  x/b  y/a\nx/a     -    X    .\n');
  }, 60_000);

  it('reports status as JSON', () => {
    const s = JSON.parse(ok('status', '--json')) as {
      policies: string[];
      endpoints: { pod: string; ingress: boolean; egress: boolean }[];
      counters: Record<string, { packets: number }>;
    };
    expect(s.policies).toEqual(['x/deny', 'x/web']);
    expect(s.endpoints.find((e) => e.pod === 'x/a')).toMatchObject({ ingress: true, egress: false });
    expect(s.endpoints.find((e) => e.pod === 'y/a')).toMatchObject({ ingress: false, egress: false });
    expect(s.counters['deny-policy']!.packets).toBeGreaterThan(0);
    expect(ok('status')).toMatch(/x\/a\s+10\.251\.1\.11\s+\d+\s+enforced/);
  });

  it('observes the flow events until Ctrl-C', async () => {
    // The probes above left their events in the ring buffer: observe shows them at once.
    const child = spawn(process.execPath, [MAIN, '--name', NAME, 'observe', '--json', '--verdict', 'denied'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // The only observer: it reads the ring itself, and says so on stderr, nothing else.
    expect(stderr).toBe(`observing flow events of ${NAME} (this process reads the datapath's ring buffer; Ctrl-C stops)\n`);
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verdict: string; destination: { pod?: string } });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.verdict === 'DENIED')).toBe(true);
    expect(events.some((e) => e.destination.pod === 'x/b')).toBe(true);
  }, 30_000);

  it("deletes policies by 'ns/name'; a bare name is in namespace default", () => {
    const missing = cli('delete', 'web');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no networkpolicy default/web');
    expect(ok('delete', 'x/web', 'x/deny')).toBe('networkpolicy x/web deleted\nnetworkpolicy x/deny deleted\n');
    expect(deniedNow()).toEqual([]);
  }, 60_000);

  it('takes it all down', () => {
    expect(ok('down')).toContain(`${NAME}: down`);
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`${NAME}.`))).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${NAME}`)).toBe(false);
    expect(cli('status').code).toBe(1);
  });
});
