/** @tsbpf/compiler: the clang front-end's public entry. */
export { compile, type BpfTarget, type CompileOptions, type CompileResult } from './compile.js';
export { findClang, MAX_CLANG, MIN_CLANG, type ClangInfo, type FindClangOptions } from './find-clang.js';
export { parseDiagnostics, isError, type Diagnostic, type FixIt, type Severity } from './diagnostics.js';
export { formatDiagnostic, type FormatDiagnosticOptions } from './format-diagnostic.js';
export { ClangNotFoundError, CompileError, CompilerError, StripError, type CompilerErrorCode } from './errors.js';
export { ensureVmlinuxHeader, KERNEL_BTF, type VmlinuxOptions } from './vmlinux.js';
export { BuildCache, defaultCacheDir } from './cache.js';
export { hostFacts, type HostFacts } from './host.js';
export { parseDepfile } from './depfile.js';
