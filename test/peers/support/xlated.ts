/**
 * `bpftool prog dump xlated` of a pinned program, comparable across loaders:
 * map ids become map names, from the first dot for internal maps (libbpf
 * names them `<object>.rodata`, cilium/ebpf and tsbpf `.rodata`).
 */
import { execFileSync } from 'node:child_process';

const bpftool = (...args: string[]) => execFileSync('bpftool', args, { encoding: 'utf8' });

export function xlatedOf(pinned: string): string {
  const names = new Map<string, string>();
  return bpftool('prog', 'dump', 'xlated', 'pinned', pinned).replace(/map\[id:(\d+)\]/g, (_, id: string) => {
    let name = names.get(id);
    if (!name) {
      const info = JSON.parse(bpftool('-j', 'map', 'show', 'id', id)) as { name: string };
      name = info.name.includes('.') ? info.name.slice(info.name.indexOf('.')) : info.name;
      names.set(id, name);
    }
    return `map[${name}]`;
  });
}

/** The first line where two dumps differ, for a failure message. */
export function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `line ${i + 1}: ${x[i] ?? '(end)'} | ${y[i] ?? '(end)'}`;
  return 'none';
}
