import { describe, expect, it } from 'vitest';
import { buildTree, foldedName, formatFolded, mergeStacks, parseFolded, topFrames } from './fold.js';
import { displayName, escapeXml, frameColour, frameKind, renderFlameGraph } from './flamegraph.js';

const STACKS = [
  { frames: ['node', 'main', 'work', 'hot'], count: 30 },
  { frames: ['node', 'main', 'work', 'cold'], count: 10 },
  { frames: ['node', 'main', 'work', 'hot'], count: 5 },
  { frames: ['node', 'main', 'gc_[k]'], count: 5 },
  { frames: ['node', 'idle'], count: 0 },
];

describe('folded stacks', () => {
  it('writes one line per distinct stack, root first, counts merged, sorted', () => {
    expect(formatFolded(STACKS)).toBe('node;main;gc_[k] 5\nnode;main;work;cold 10\nnode;main;work;hot 35\n');
  });
  it('reads back what it writes', () => {
    expect(parseFolded(formatFolded(STACKS))).toEqual(mergeStacks(STACKS));
    expect(parseFolded('a b;c d 7\nno count\n')).toEqual([{ frames: ['a b', 'c d'], count: 7 }]);
  });
  it("annotates kernel and JIT frames and replaces the format's separators in names", () => {
    expect(foldedName({ name: 'schedule', kind: 'kernel' })).toBe('schedule_[k]');
    expect(foldedName({ name: 'JS:*f a.js:1', kind: 'jit' })).toBe('JS:*f a.js:1_[j]');
    expect(foldedName({ name: 'a;b\nc', kind: 'user' })).toBe('a:b:c');
  });
  it('merges prefixes into a tree whose values are inclusive counts, children by name', () => {
    const t = buildTree(STACKS);
    expect(t.value).toBe(50);
    const main = t.children[0]!.children[0]!;
    expect(main.name).toBe('main');
    expect(main.children.map((c) => [c.name, c.value])).toEqual([
      ['gc_[k]', 5],
      ['work', 45],
    ]);
    expect(main.children[1]!.children.map((c) => [c.name, c.value])).toEqual([
      ['cold', 10],
      ['hot', 35],
    ]);
  });
  it('ranks the leaves by samples', () => {
    expect(topFrames(STACKS, 2)).toEqual([
      { name: 'hot', count: 35 },
      { name: 'cold', count: 10 },
    ]);
  });
});

describe('renderFlameGraph', () => {
  const svg = renderFlameGraph(buildTree(STACKS), { title: 'T <1>', subtitle: 'sub', width: 1000 });
  const boxes = [...svg.matchAll(/<g><title>([^<]*)<\/title>\s*<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)].map((m) => ({
    title: m[1]!,
    x: Number(m[2]),
    y: Number(m[3]),
    w: Number(m[4]),
  }));
  const box = (name: string) => boxes.find((b) => b.title.startsWith(`${name} (`))!;

  it('is one SVG document with the escaped title and no script', () => {
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('<svg ');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('T &lt;1&gt;');
    expect(svg).not.toMatch(/<script/i);
  });
  it('draws a box per merged frame, as wide as its share, callees above callers', () => {
    expect(boxes.map((b) => b.title.split(' (')[0]).sort()).toEqual(['all', 'cold', 'gc', 'hot', 'main', 'node', 'work'].sort());
    const all = box('all');
    expect(all.w).toBeCloseTo(980, 1);
    expect(box('hot').w).toBeCloseTo((980 * 35) / 50, 1);
    expect(box('cold').w + box('hot').w).toBeCloseTo(box('work').w, 1);
    expect(box('main').y).toBeLessThan(box('node').y);
    expect(box('hot').y).toBe(box('cold').y);
    // Siblings side by side, in name order.
    expect(box('hot').x).toBeCloseTo(box('cold').x + box('cold').w, 1);
  });
  it('says each frame in full with its count and share on hover', () => {
    expect(box('hot').title).toBe('hot (35 samples, 70.00%)');
    expect(box('gc').title).toBe('gc (5 samples, 10.00%)');
  });
  it('colours by name and kind, the same every time', () => {
    expect(renderFlameGraph(buildTree(STACKS), { title: 'T <1>', subtitle: 'sub', width: 1000 })).toBe(svg);
    expect(frameColour('hot', 3)).toBe(frameColour('hot', 5));
    expect(frameColour('hot', 3)).not.toBe(frameColour('cold', 3));
    expect(frameKind('schedule_[k]')).toBe('kernel');
    expect(frameKind('JS:*f_[j]')).toBe('jit');
    expect(frameKind('[unknown] (libc.so.6)')).toBe('unknown');
    expect(frameKind('main')).toBe('user');
    expect(displayName('schedule_[k]')).toBe('schedule');
  });
  it('leaves out boxes narrower than minWidth and labels only boxes with room', () => {
    const wide = [
      { frames: ['a'], count: 100000 },
      { frames: ['tiny'], count: 1 },
    ];
    const out = renderFlameGraph(buildTree(wide), { width: 500 });
    expect(out).not.toContain('tiny (1 sample');
    expect(out).toContain('>a<');
  });
  it('escapes what XML needs escaped', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    const out = renderFlameGraph(buildTree([{ frames: ['std::vector<int>::push&back'], count: 1 }]));
    expect(out).toContain('std::vector&lt;int&gt;::push&amp;back');
  });
  it('draws an empty profile as just the root', () => {
    const out = renderFlameGraph(buildTree([]));
    expect(out).toContain('all (0 samples, 0.00%)');
  });
});
