#!/usr/bin/env node
// `npm start` until the pod-firewall demo exists: a short end-to-end tour of
// what works today, run through the real `tsbpf` binary on committed fixtures
// and on this kernel's own BTF.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/cli/dist/cli.js');
const fixture = (name) => join(root, 'fixtures/out', name);

function run(title, args, { maxLines = 40 } = {}) {
  console.log(`\n\x1b[1m$ tsbpf ${args.join(' ')}\x1b[0m   # ${title}`);
  const out = execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = out.trimEnd().split('\n');
  console.log(lines.slice(0, maxLines).join('\n'));
  if (lines.length > maxLines) console.log(`... (${lines.length - maxLines} more lines)`);
}

run('programs and maps of an object, parsed in pure TypeScript', ['inspect', fixture('maps_btf.bpf.o')]);
run('disassembly with source lines from BTF.ext', ['objdump', fixture('minimal.bpf.o')]);
run('the same program, built big-endian', ['objdump', fixture('minimal.eb.bpf.o')], { maxLines: 8 });
if (existsSync('/sys/kernel/btf/vmlinux')) {
  run("this kernel's BTF, printed exactly as bpftool prints it", ['btf', 'dump', '/sys/kernel/btf/vmlinux'], {
    maxLines: 12,
  });
}
if (typeof process.getuid === 'function' && process.getuid() === 0) {
  run('load the program into this kernel and run it 1,000 times (BPF_PROG_TEST_RUN)', [
    'run', fixture('minimal.bpf.o'), '--program', 'xdp_pass', '--repeat', '1000',
  ]);
  run('TypeScript bindings for an object, like bpf2go', ['gen', fixture('maps_btf.bpf.o')], { maxLines: 22 });
}
console.log('\nNext: CO-RE, and the pod-firewall demo.');
