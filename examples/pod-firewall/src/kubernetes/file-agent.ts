/**
 * The node agent as a process fed by a snapshot file (tests and demos
 * without an API server): `node dist/kubernetes/file-agent.js --name INSTANCE --node
 * NODE --snapshots FILE [--bpffs DIR] [--run-root DIR] [--own-netns]` (--own-netns: the pods' veths are
 * in the process's own network namespace, as for a DaemonSet with
 * hostNetwork; started there with `nsenter --net`). One log line per
 * change on stdout; SIGTERM or SIGINT stops it (the datapath stays pinned
 * and enforcing, as after kill -9).
 */
import { parseArgs } from 'node:util';
import { runAgent } from './agent.js';
import { fileSnapshotSource } from './file-source.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    node: { type: 'string' },
    snapshots: { type: 'string' },
    bpffs: { type: 'string' },
    'run-root': { type: 'string' },
    'own-netns': { type: 'boolean' },
  },
});
if (!values.name || !values.node || !values.snapshots) {
  console.error('usage: dist/kubernetes/file-agent.js --name INSTANCE --node NODE --snapshots FILE [--bpffs DIR] [--run-root DIR] [--own-netns]');
  process.exit(2);
}
const agent = await runAgent({
  name: values.name,
  node: values.node,
  source: fileSnapshotSource(values.snapshots),
  ownNetns: values['own-netns'] === true,
  ...(values.bpffs ? { bpffs: values.bpffs } : {}),
  ...(values['run-root'] ? { runRoot: values['run-root'] } : {}),
});
console.log(`node ${values.node}: agent running (pid ${process.pid})`);
const stop = () => void agent.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
