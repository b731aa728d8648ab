// The unprivileged side of the BPF token test, run by userns-bpffs as root
// of its own user namespace (nobody outside it) with fd 3 a bpffs mount:
// loads OBJECT (argv[2]) without a token (the kernel must refuse), then
// with a token made from fd 3 (loadCollection({ token }): maps, BTF and programs created through it),
// runs the XDP program, reads its counter and attaches it to this network
// namespace's lo; then finds the token as libbpf would (LIBBPF_BPF_TOKEN_PATH).
// Prints one JSON line of what happened.
import { readFileSync } from 'node:fs';
import { BpfToken, attachXdp, loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';

const spec = parseCollectionSpec(new Uint8Array(readFileSync(process.argv[2])));
const outside = Number(readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/)[1]); // who root here is outside
const out = { uid: process.getuid(), outside, refused: null, tokenError: null, retval: null, hits: null, linked: false, linkError: null };
try {
  loadCollection(spec).close();
} catch (e) {
  out.refused = `${e.code ?? e.name}: ${e.message}`;
}
let token;
let c;
try {
  token = BpfToken.create(3);
  c = loadCollection(spec, { token });
  const prog = c.programs.count_packets;
  out.retval = prog.testRun({ data: new Uint8Array(64), repeat: 3 }).retval;
  const hits = c.maps.hits.lookup(new Uint8Array(4));
  const view = new DataView(hits.buffer, hits.byteOffset, hits.byteLength);
  out.hits = 0;
  for (let o = 0; o < hits.byteLength; o += 8) out.hits += Number(view.getBigUint64(o, true)); // one per CPU
  try {
    const link = token.use(() => attachXdp(prog, 1));
    out.linked = true;
    link.close();
  } catch (e) {
    out.linkError = `${e.code ?? e.name}: ${e.message}`;
  }
} catch (e) {
  out.tokenError = `${e.code ?? e.name}: ${e.message}`;
} finally {
  c?.close();
  token?.close();
}
// libbpf's discovery rule: LIBBPF_BPF_TOKEN_PATH names the bpffs; set but empty, no token; unset,
// /sys/fs/bpf, which here is the host's (the initial namespace's, no delegation): no token either.
try {
  const found = BpfToken.fromEnvironment({ LIBBPF_BPF_TOKEN_PATH: '/proc/self/fd/3' });
  out.discovered = {
    named: found !== undefined,
    empty: BpfToken.fromEnvironment({ LIBBPF_BPF_TOKEN_PATH: '' }) !== undefined,
    unset: BpfToken.fromEnvironment({}) !== undefined,
  };
  if (found) {
    try {
      found.use(() => loadCollection(spec)).close();
      out.discovered.loaded = true;
    } catch (e) {
      out.discovered.loaded = `${e.code ?? e.name}: ${e.message}`;
    } finally {
      found.close();
    }
  }
} catch (e) {
  out.discovered = `${e.code ?? e.name}: ${e.message}`;
}
process.stdout.write(JSON.stringify(out) + '\n');
