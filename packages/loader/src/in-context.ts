/**
 * Context prefixes (`program xdp_prog: ...`) on what loading a collection
 * throws: `withContext` from @tsbpf/object, and the same prefix on the
 * loader's errors that do not extend TsbpfError yet. Once every loader error
 * is a TsbpfError (issue 20), this is `withContext` itself and can go.
 */
import { TsbpfError, withContext } from '@tsbpf/object';

export function inContext<T>(context: string, fn: () => T): T {
  try {
    return withContext(context, fn);
  } catch (e) {
    if (!TsbpfError.is(e) && e instanceof Error && !e.message.startsWith(context)) e.message = `${context}: ${e.message}`;
    throw e;
  }
}
