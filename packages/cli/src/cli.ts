/** The `tsbpf` binary: runs `main` on the process's arguments and streams. */
import { reportFailure } from './errors.js';
import { main } from './main.js';

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  // main() reports its own failures; this is for one that escapes it all the same.
  (e: unknown) => {
    process.exitCode = reportFailure(e, (t) => void process.stderr.write(t));
  },
);
