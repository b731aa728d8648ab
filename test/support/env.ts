/**
 * Test tiers. A test that needs something this machine may lack (root, a
 * command such as bpftool, a C helper built by scripts/bootstrap, a kernel
 * file) declares it with `describeNeeds`. Outside CI a missing requirement
 * skips the suite with its reason; under `CI=true` it fails instead, so a skip
 * can never hide a regression on the CI machine (which has everything).
 *
 * `npm run test:unit` sets `TSBPF_TESTS=unprivileged`: the part of the suite
 * that runs without root. Suites that need root are then skipped whoever runs
 * it (also root, also under CI); everything else must pass as any user.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export interface Requirement {
  ok: boolean;
  reason: string;
  /** Root (or its capabilities): what `npm run test:unit` leaves out. */
  privileged?: boolean;
}

export const inCI = process.env.CI === 'true';
/** `npm run test:unit`: only the tests that run without root. */
export const unprivilegedOnly = process.env.TSBPF_TESTS === 'unprivileged';
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function isRoot(): Requirement {
  if (unprivilegedOnly) return { ok: false, reason: 'needs root: not part of npm run test:unit', privileged: true };
  const ok = typeof process.getuid === 'function' && process.getuid() === 0;
  return { ok, reason: 'needs root (or CAP_BPF + CAP_NET_ADMIN)', privileged: true };
}

const commandCache = new Map<string, boolean>();
export function hasCommand(cmd: string): Requirement {
  let ok = commandCache.get(cmd);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${JSON.stringify(cmd)}`], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    commandCache.set(cmd, ok);
  }
  return { ok, reason: `needs \`${cmd}\` on PATH (scripts/bootstrap installs it)` };
}

export function hasFile(path: string): Requirement {
  let ok = true;
  try {
    accessSync(path, constants.R_OK);
  } catch {
    ok = false;
  }
  return { ok, reason: `needs readable ${path}` };
}

/** C helpers built against libbpf-dev by scripts/build-c-helpers into build/c/. */
export function cHelperPath(name: string): string {
  return join(repoRoot, 'build', 'c', name);
}
export function hasCHelper(name: string): Requirement {
  return {
    ok: existsSync(cHelperPath(name)),
    reason: `needs C helper build/c/${name} (run scripts/bootstrap)`,
  };
}

/** Like `describe`, but skipped (or failed under CI) when a requirement is missing. */
export function describeNeeds(requirements: Requirement[], name: string, fn: () => void): void {
  const unmet = requirements.filter((r) => !r.ok);
  const missing = unmet.map((r) => r.reason);
  // The unprivileged run leaves out what needs root by design: that is no missing requirement, also under CI.
  const outOfTier = unprivilegedOnly && unmet.some((r) => r.privileged);
  if (missing.length === 0) {
    describe(name, fn);
  } else if (inCI && !outOfTier) {
    describe(name, () => {
      it('has what it needs (CI=true turns a skip into a failure)', () => {
        throw new Error(`missing requirements under CI: ${missing.join('; ')}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${missing.join('; ')}]`, fn);
  }
}
