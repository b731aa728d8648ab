// bench/support/launcher: runs the peers' helpers for a bench, so that the
// bench's own process never forks while it measures (see runJson in
// compare.mjs). Started once by compare.mjs with an IPC channel: each message
// { id, bin, args } runs `bin args` to its end and answers { id, out } (its
// standard output) or { id, error } (why it failed, with its standard error).
// Exits when the bench's channel closes.
import { execFileSync } from 'node:child_process';

process.on('message', ({ id, bin, args }) => {
  try {
    const out = execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    process.send({ id, out });
  } catch (e) {
    const stderr = e.stderr ? String(e.stderr).trim() : '';
    process.send({ id, error: `${bin} ${args.join(' ')}: ${e.message}${stderr ? `\n${stderr}` : ''}` });
  }
});
process.on('disconnect', () => process.exit(0));
