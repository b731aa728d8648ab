/**
 * What a pod firewall instance leaves on the machine, for the kernel tests'
 * clean-up checks: its network namespaces and its bpffs directory; and the
 * tear-down those tests end with.
 */
import { existsSync, readdirSync } from 'node:fs';
import { PodFirewall } from '../firewall.js';

export interface Leftovers {
  /** Network namespaces named `<name>.*`. */
  readonly netns: string[];
  /** Whether /sys/fs/bpf/<name> is still there. */
  readonly pinned: boolean;
}

export const NOTHING_LEFT: Leftovers = { netns: [], pinned: false };

export function leftovers(name: string): Leftovers {
  return { netns: readdirSync('/run/netns').filter((n) => n.startsWith(`${name}.`)), pinned: existsSync(`/sys/fs/bpf/${name}`) };
}

/** Closes `fw` (when it came up), takes instance `name` down and says what is left: a test expects NOTHING_LEFT. */
export function tearDown(fw: PodFirewall | undefined, name: string): Leftovers {
  fw?.close();
  PodFirewall.down({ name });
  return leftovers(name);
}
