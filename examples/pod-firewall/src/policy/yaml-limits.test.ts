import { describe, expect, it } from 'vitest';
import { parseCluster } from './cluster-file.js';
import { PolicyError } from './errors.js';
import { parsePolicies } from './manifests.js';
import { YAML_LIMITS } from './yaml-diagnostics.js';

/** Hostile YAML is refused with a PolicyError YAML_LIMIT, quickly, before any value is built from it. */

const policy = (extra = '') => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p, namespace: x }
spec:
  podSelector: {}
${extra}`;

function refusal(parse: () => unknown): PolicyError {
  try {
    parse();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('YAML input limits', () => {
  it('refuses an alias bomb ("billion laughs") by name, in milliseconds', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `${policy()}  ingress:\n    - from:\n        - podSelector: { matchLabels: { x: y } }\nmetadataBomb:\n  ${levels.join('\n  ')}\n`;
    const started = performance.now();
    const e = refusal(() => parsePolicies(bomb));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(e.code).toBe('YAML_LIMIT');
    expect(e.message).toContain('aliases expand too far');
  });

  it('still reads a few aliases, as the API server does', () => {
    const text = `${policy()}  ingress:\n    - from: [{ podSelector: &sel { matchLabels: { app: web } } }]\n  egress:\n    - to: [{ podSelector: *sel }]\n`;
    expect(parsePolicies(text)[0]!.spec.egress![0]!.to![0]!.podSelector).toEqual({ matchLabels: { app: 'web' } });
  });

  it('refuses deep nesting, flow or block, before the parser walks it', () => {
    for (const n of [65, 10_000, 400_000]) {
      const e = refusal(() => parsePolicies(`${policy()}  x: ${'['.repeat(n)}${']'.repeat(n)}\n`));
      expect(e.code).toBe('YAML_LIMIT');
      expect(e.message).toContain(`nested deeper than ${YAML_LIMITS.depth} levels`);
    }
    let block = '';
    for (let i = 0; i < 80; i++) block += `${' '.repeat(i)}k:\n`;
    const e = refusal(() => parseCluster(block));
    expect(e.code).toBe('YAML_LIMIT');
    // Brackets inside quotes are text, not nesting.
    expect(() => parsePolicies(`${policy()}  ingress: []\n# ${'['.repeat(100)}\n`)).not.toThrow();
    expect(refusal(() => parsePolicies(`${policy()}  x: "${'['.repeat(100)}"\n`)).code).toBe('POLICY_INVALID');
  });

  it('refuses a file over the size limit, naming the limit', () => {
    const big = `${policy()}# ${'x'.repeat(YAML_LIMITS.characters)}\n`;
    const e = refusal(() => parsePolicies(big));
    expect(e.code).toBe('YAML_LIMIT');
    expect(e.message).toContain(`at most ${YAML_LIMITS.characters} characters`);
  });
});
