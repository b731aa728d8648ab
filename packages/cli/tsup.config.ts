import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

// The library, and the `tsbpf` command as one ESM file with its shebang.
export default defineConfig([library(), { entry: ['src/cli.ts'], format: ['esm'], sourcemap: true, target: 'node20', banner: { js: '#!/usr/bin/env node' } }]);
