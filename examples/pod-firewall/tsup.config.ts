import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts', 'src/index.ts', 'src/agent.ts', 'src/kubernetes/file-agent.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'node20',
  external: [/^@tsbpf\//],
});
