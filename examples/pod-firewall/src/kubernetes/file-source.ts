/**
 * A SnapshotSource read from a JSON file (one NodeSnapshot), for running the
 * node agent as a process without an API server (tests, demos): the file's
 * snapshot is delivered at start if there is one, and again whenever the
 * file is replaced with different content (writers rename a new file over
 * it, so a half-written one is never read). A file that does not parse is
 * reported once and skipped: the agent keeps the last snapshot.
 */
import { readFileSync } from 'node:fs';
import type { NodeSnapshot, SnapshotSource } from './snapshot.js';

export function fileSnapshotSource(path: string, o: { pollMs?: number; log?: (line: string) => void } = {}): SnapshotSource {
  let timer: NodeJS.Timeout | undefined;
  let seen = '';
  const read = (deliver: (s: NodeSnapshot) => void) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return; // not written yet
    }
    if (text === seen) return;
    seen = text;
    let parsed: NodeSnapshot;
    try {
      parsed = JSON.parse(text) as NodeSnapshot;
    } catch (e) {
      (o.log ?? console.error)(`${path}: not a snapshot (${(e as Error).message}); keeping the last one`);
      return;
    }
    deliver(parsed);
  };
  return {
    start(onSnapshot) {
      read(onSnapshot);
      timer = setInterval(() => read(onSnapshot), o.pollMs ?? 50);
      return Promise.resolve();
    },
    stop() {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
