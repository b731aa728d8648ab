/**
 * Network namespaces for tests: a pair of "pods" joined by a veth, each end
 * in its own namespace with an address, created with iproute2 and removed
 * on dispose (also when the test fails). Nothing touches the root namespace.
 */
import { execFileSync } from 'node:child_process';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export interface VethPair extends Disposable {
  readonly a: { ns: string; path: string; dev: string; addr: string };
  readonly b: { ns: string; path: string; dev: string; addr: string };
  /** The interface index of `dev` inside its namespace. */
  ifindex(side: 'a' | 'b'): number;
  /** Runs a command inside a namespace; returns its exit status. */
  exec(side: 'a' | 'b', cmd: string[]): number;
}

let counter = 0;

/** Two namespaces joined by a veth pair, 10.<x>.<y>.1 and .2/24. */
export function vethPair(tag: string): VethPair {
  const id = `${process.pid % 10000}-${counter++}`;
  const a = { ns: `tsbpf-${tag}-a-${id}`, dev: 'veth0', addr: '', path: '' };
  const b = { ns: `tsbpf-${tag}-b-${id}`, dev: 'veth0', addr: '', path: '' };
  const net = `10.${200 + (process.pid % 50)}.${counter % 250}`;
  a.addr = `${net}.1`;
  b.addr = `${net}.2`;
  a.path = `/var/run/netns/${a.ns}`;
  b.path = `/var/run/netns/${b.ns}`;
  const cleanup = () => {
    for (const ns of [a.ns, b.ns]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', a.ns);
    ip('netns', 'add', b.ns);
    ip('-n', a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns);
    for (const side of [a, b]) {
      ip('-n', side.ns, 'addr', 'add', `${side.addr}/24`, 'dev', side.dev);
      ip('-n', side.ns, 'link', 'set', side.dev, 'up');
      ip('-n', side.ns, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return {
    a,
    b,
    ifindex(side) {
      const s = side === 'a' ? a : b;
      return (JSON.parse(ip('-n', s.ns, '-j', 'link', 'show', 'dev', s.dev)) as { ifindex: number }[])[0]!.ifindex;
    },
    exec(side, cmd) {
      const s = side === 'a' ? a : b;
      try {
        execFileSync('ip', ['netns', 'exec', s.ns, ...cmd], { stdio: 'ignore', timeout: 10_000 });
        return 0;
      } catch (e) {
        return (e as { status?: number }).status ?? 1;
      }
    },
    [Symbol.dispose]: cleanup,
  };
}
