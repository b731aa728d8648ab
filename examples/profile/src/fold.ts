/**
 * Folded stacks (Brendan Gregg's format: `root;caller;leaf count`, one
 * line per distinct stack) and the tree of merged prefixes a flame graph
 * draws: building, writing and reading them. Pure.
 */
import type { Frame } from './symbolize.js';

/** A stack of frame names, root first, seen `count` times. */
export interface FoldedStack {
  readonly frames: readonly string[];
  readonly count: number;
}

/** The annotation a frame of this kind carries in folded output (as perf's stackcollapse writes them). */
const SUFFIX: Partial<Record<Frame['kind'], string>> = { kernel: '_[k]', jit: '_[j]' };

/** A frame's name as folded output writes it: `;` and line breaks (the format's separators) replaced, kernel and JIT frames annotated. */
export function foldedName(frame: Pick<Frame, 'name' | 'kind'>): string {
  return frame.name.replace(/[;\r\n]/g, ':') + (SUFFIX[frame.kind] ?? '');
}

/** Identical stacks merged (their counts added), sorted by their folded line. */
export function mergeStacks(stacks: Iterable<FoldedStack>): FoldedStack[] {
  const byLine = new Map<string, { frames: readonly string[]; count: number }>();
  for (const s of stacks) {
    if (s.frames.length === 0 || s.count <= 0) continue;
    const line = s.frames.join(';');
    const seen = byLine.get(line);
    if (seen) seen.count += s.count;
    else byLine.set(line, { frames: s.frames, count: s.count });
  }
  return [...byLine.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

/** The folded text: `a;b;c 42` per distinct stack. */
export function formatFolded(stacks: Iterable<FoldedStack>): string {
  return mergeStacks(stacks)
    .map((s) => `${s.frames.join(';')} ${s.count}\n`)
    .join('');
}

/** Reads folded text back (the count is after the last space; lines without one are skipped). */
export function parseFolded(text: string): FoldedStack[] {
  const out: FoldedStack[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.+) (\d+)$/.exec(line.trimEnd());
    if (m) out.push({ frames: m[1]!.split(';'), count: Number(m[2]) });
  }
  return mergeStacks(out);
}

/** A frame in the merged tree: its samples (its own and its callees'), and its callees sorted by name. */
export interface FlameNode {
  readonly name: string;
  value: number;
  readonly children: FlameNode[];
}

/** The tree of merged prefixes under a root named `rootName`, children in name order (so the picture is deterministic). */
export function buildTree(stacks: Iterable<FoldedStack>, rootName = 'all'): FlameNode {
  const root: FlameNode = { name: rootName, value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  for (const s of mergeStacks(stacks)) {
    root.value += s.count;
    let node = root;
    for (const name of s.frames) {
      let kids = index.get(node);
      if (!kids) index.set(node, (kids = new Map()));
      let child = kids.get(name);
      if (!child) {
        child = { name, value: 0, children: [] };
        kids.set(name, child);
        node.children.push(child);
      }
      child.value += s.count;
      node = child;
    }
  }
  const sort = (n: FlameNode): void => {
    n.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/** The frames that are most often on the top of the stack (the leaf: where the CPU was), with their sample counts, most first. */
export function topFrames(stacks: Iterable<FoldedStack>, n = 10): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const s of stacks) {
    const leaf = s.frames[s.frames.length - 1];
    if (leaf !== undefined) counts.set(leaf, (counts.get(leaf) ?? 0) + s.count);
  }
  return [...counts.entries()]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1))
    .slice(0, n);
}
