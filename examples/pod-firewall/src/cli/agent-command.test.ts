/** The agent command's own argument: `--metrics HOST:PORT`, checked before anything starts. */
import { expect, it } from 'vitest';
import { CliError } from '../errors.js';
import { listenAddress } from './agent-command.js';

it('reads --metrics as HOST:PORT, IPv6 in brackets', () => {
  expect(listenAddress('0.0.0.0:9964')).toEqual({ host: '0.0.0.0', port: 9964 });
  expect(listenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
  expect(listenAddress('[::1]:9964')).toEqual({ host: '::1', port: 9964 });
});

it('refuses what is not HOST:PORT with ARGUMENT_INVALID', () => {
  for (const bad of ['9964', ':9964', '0.0.0.0:', '0.0.0.0:65536', '0.0.0.0:99999', '::1:9964', 'a:b', '']) {
    let error: unknown;
    try {
      listenAddress(bad);
    } catch (e) {
      error = e;
    }
    expect(error, bad).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('ARGUMENT_INVALID');
  }
});
