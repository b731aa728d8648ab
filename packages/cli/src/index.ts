export { main } from './main.js';
export { CliError, type CliIo } from './io.js';
export { inspectJson, type InspectJson } from './commands/inspect.js';
