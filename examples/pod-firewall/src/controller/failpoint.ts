/**
 * Crash points for the tests of what a command that dies half-way leaves:
 * with POD_FIREWALL_CRASH_AT=<point> in its environment, a command kills
 * itself with SIGKILL when it reaches that point (nothing runs after it, as
 * after a real kill -9). Unset, this does nothing.
 */
export type CrashPoint =
  | 'saved' // the new state is saved for the idle generation; no map written
  | 'written' // the idle generation is written; not live
  | 'flipped' // the new generation is live; the old one not cleaned up
  | 'cleaned' // the update is done
  | 'pod-made' // a new pod's namespace and veth exist (link down), not in any state
  | 'pod-unlinked' // a deleted pod's veth is down; the maps still have it
  | 'upgrade-half'; // an upgrade moved the first pod's ingress link to the new program, no other

export function crashPoint(point: CrashPoint): void {
  if (process.env.POD_FIREWALL_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
