import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts', 'src/profile.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'node20',
  external: [/^@tsbpf\//, 'commander'],
});
