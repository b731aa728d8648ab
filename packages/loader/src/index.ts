export { loadKernelBtf, readKernelBtfBytes, VMLINUX_BTF, type LoadKernelBtfOptions } from './kernel-btf.js';
export { readFileBytes } from './read-file.js';
