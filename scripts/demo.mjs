#!/usr/bin/env node
// `npm start`: the pod-firewall demo (a cluster of network namespaces,
// NetworkPolicy enforced by eBPF, probes and flow events, all torn down at
// the end). It needs root; without root, a short tour of the toolchain runs
// instead, through the real `tsbpf` binary on committed fixtures and on this
// kernel's own BTF.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/cli/dist/cli.js');
const podFirewall = join(root, 'examples/pod-firewall/dist/main.js');
const fixture = (name) => join(root, 'fixtures/out', name);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(title, args, { maxLines = 40 } = {}) {
  console.log(`\n\x1b[1m$ tsbpf ${args.join(' ')}\x1b[0m   # ${title}`);
  const out = execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = out.trimEnd().split('\n');
  console.log(lines.slice(0, maxLines).join('\n'));
  if (lines.length > maxLines) console.log(`... (${lines.length - maxLines} more lines)`);
}

/** The toolchain tour: what runs without root (and, as root, loading and running a program). */
function tour() {
  run('programs and maps of an object, parsed in pure TypeScript', ['inspect', fixture('maps_btf.bpf.o')]);
  run('disassembly with source lines from BTF.ext', ['objdump', fixture('minimal.bpf.o')]);
  run('the same program, built big-endian', ['objdump', fixture('minimal.eb.bpf.o')], { maxLines: 8 });
  if (existsSync('/sys/kernel/btf/vmlinux')) {
    run("this kernel's BTF, printed exactly as bpftool prints it", ['btf', 'dump', '/sys/kernel/btf/vmlinux'], {
      maxLines: 12,
    });
  }
  if (isRoot) {
    run('load the program into this kernel and run it 1,000 times (BPF_PROG_TEST_RUN)', [
      'run',
      fixture('minimal.bpf.o'),
      '--program',
      'xdp_pass',
      '--repeat',
      '1000',
    ]);
    run('TypeScript bindings for an object, like bpf2go', ['gen', fixture('maps_btf.bpf.o')], { maxLines: 22 });
  }
  console.log('\nAs root, `npm start` runs the pod-firewall demo instead.');
}

/** Runs `pod-firewall demo` on this terminal; resolves to its exit code. */
function podFirewallDemo() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [podFirewall, 'demo'], { stdio: 'inherit' });
    // Ctrl-C reaches the demo too (same process group); it tears its cluster
    // down before exiting, so we wait for it instead of dying first.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', ignore);
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

if (!isRoot) {
  console.log('The pod-firewall demo needs root (network namespaces, BPF programs): showing the toolchain tour instead.');
  tour();
} else if (!existsSync(podFirewall)) {
  console.log(`${podFirewall} is missing (scripts/bootstrap builds it): showing the toolchain tour instead.`);
  tour();
} else {
  process.exitCode = await podFirewallDemo();
}
