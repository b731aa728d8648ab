// Types of scripts/gen-kernel-layouts.mjs, for the test that runs it (packages/loader/src/sys/layouts.test.ts).
import type { Btf } from '@tsbpf/object';

/** The generated module's text for `btf`; `source` names the kernel in its header. */
export function renderKernelLayouts(btf: Btf, source: string): string;
/** How the header names the running kernel: `Linux <release> (<machine>)`. */
export function runningKernelName(): string;
