import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, consumers get dist/.
    alias: {
      '@tsbpf/object': src('object'),
      '@tsbpf/loader': src('loader'),
      '@tsbpf/compiler': src('compiler'),
      '@tsbpf/maps': src('maps'),
      tsbpf: src('cli'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'test/**/*.test.ts',
      'fixtures/**/*.test.ts',
      'examples/*/src/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
