/**
 * `tsbpf ui`: starts the inspector (ui-server.ts) on 127.0.0.1, prints its
 * address with the token, and serves until Ctrl-C or SIGTERM.
 */
import { CliError, type CliIo } from '../io.js';
import { startInspector } from './ui-server.js';

export interface UiOptions {
  port?: string;
  interval?: string;
}

export async function ui(io: CliIo, opts: UiOptions): Promise<void> {
  const port = opts.port === undefined ? 0 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0 to 65535, not ${opts.port}`, 1, 'USAGE');
  const intervalMs = opts.interval === undefined ? 1000 : Number(opts.interval) * 1000;
  if (!(intervalMs >= 100 && intervalMs <= 3_600_000)) throw new CliError(`--interval must be seconds from 0.1 to 3600, not ${opts.interval}`, 1, 'USAGE');
  let inspector;
  try {
    inspector = await startInspector({ port, intervalMs });
  } catch (e) {
    throw new CliError(`cannot serve on 127.0.0.1:${port}: ${(e as Error).message}`, 1, 'COMMAND_FAILED', { cause: e });
  }
  io.out(`tsbpf inspector: ${inspector.url}\n(only this machine can reach it; the token in the address is the key; Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await inspector.close();
}
