/**
 * BPF tokens (Linux 6.9+): a process with no capability outside its own
 * user namespace (uid nobody, root of new user, mount and network
 * namespaces) is refused a load without a token, and with a token made
 * from a bpffs that delegates everything (delegation set by the privileged
 * parent: test/support/c/userns-bpffs.c) creates its maps, BTF and program,
 * runs the program and attaches it (test/support/token-child.mjs), and finds
 * its token by LIBBPF_BPF_TOKEN_PATH's rule; a bpffs that delegates nothing
 * gives no token.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, isRoot, repoRoot } from './support/env.js';
import { inspectObject } from './support/inspect-object.js';

interface ChildReport {
  uid: number;
  outside: number;
  refused: string | null;
  tokenError: string | null;
  retval: number | null;
  hits: number | null;
  linked: boolean;
  linkError: string | null;
  discovered: string | { named: boolean; empty: boolean; unset: boolean; loaded?: true | string };
}

const NOBODY = '65534';
let dir = '';

/** Runs the child as nobody in its own namespaces, fd 3 a bpffs delegating `delegate` ('' for nothing). */
function runChild(delegate: string): ChildReport {
  const out = execFileSync(
    cHelperPath('userns-bpffs'),
    [NOBODY, delegate, process.execPath, join(repoRoot, 'test/support/token-child.mjs'), join(dir, 'inspect.bpf.o')],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return JSON.parse(out) as ChildReport;
}

describeNeeds([isRoot(), hasCommand('clang'), hasCHelper('userns-bpffs')], 'BPF token in an unprivileged user namespace', () => {
  beforeAll(async () => {
    // The child runs as nobody: the object must be readable by it.
    dir = mkdtempSync(join(tmpdir(), 'tsbpf-token-'));
    chmodSync(dir, 0o755);
    copyFileSync(await inspectObject(), join(dir, 'inspect.bpf.o'));
    chmodSync(join(dir, 'inspect.bpf.o'), 0o644);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refused without a token; with one, loads, runs and attaches its program', () => {
    const r = runChild('any');
    expect(r.uid, 'root inside its own user namespace').toBe(0);
    expect(r.outside, 'nobody outside it').toBe(Number(NOBODY));
    expect(r.refused, 'without a token').toMatch(/EPERM/);
    expect(r.tokenError).toBeNull();
    expect(r.retval, 'XDP_PASS').toBe(2);
    expect(r.hits, 'the program ran three times and counted in its map').toBe(3);
    expect(r.linkError).toBeNull();
    expect(r.linked).toBe(true);
    // LIBBPF_BPF_TOKEN_PATH's rule: the named bpffs gives a token that loads; set but empty, none;
    // unset, /sys/fs/bpf, here the host's bpffs (of the initial namespace, delegating nothing): none.
    expect(r.discovered).toEqual({ named: true, empty: false, unset: false, loaded: true });
  });

  it('a bpffs that delegates nothing gives no token (ENOENT), and nothing loads', () => {
    const r = runChild('');
    expect(r.refused).toMatch(/EPERM/);
    expect(r.tokenError).toMatch(/BPF_TOKEN_CREATE: ENOENT/);
    expect(r.retval).toBeNull();
    expect(r.discovered, 'a named bpffs that gives no token is an error').toMatch(/BPF_TOKEN_CREATE: ENOENT/);
  });
});
