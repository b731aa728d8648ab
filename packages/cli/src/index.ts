/** tsbpf as a library: `main` (the CLI in-process), its errors, and the `inspect --json` contract. */
export { main } from './main.js';
export { CliError, reportFailure, type CliErrorCode } from './errors.js';
export { type CliIo } from './io.js';
export { inspectJson, type InspectJson } from './commands/inspect.js';
export { renderTop, type TopView, type TopSort } from './commands/top.js';
export { startInspector, type Inspector, type InspectorOptions } from './commands/ui-server.js';
