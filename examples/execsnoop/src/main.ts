#!/usr/bin/env node
// execsnoop [--json]: prints every execve on this machine until Ctrl-C.
import { execsnoop } from './execsnoop.js';

const json = process.argv.includes('--json');
const abort = new AbortController();
process.on('SIGINT', () => abort.abort());
const snoop = await execsnoop({ signal: abort.signal });
if (!json) console.log(`${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'COMM'.padEnd(16)} FILENAME`);
for await (const e of snoop) {
  if (json) console.log(JSON.stringify(e));
  else console.log(`${String(e.pid).padStart(7)} ${String(e.ppid).padStart(7)} ${e.comm.padEnd(16)} ${e.filename}`);
}
snoop.close();
