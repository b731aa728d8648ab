/**
 * renderFlameGraph: an SVG flame graph of merged stacks (pure: a tree in,
 * SVG text out). Each frame is a box as wide as its share of the samples,
 * callees stacked above their caller, siblings in name order; the title on
 * top, each box's full name and count in a `<title>` shown on hover, and a
 * colour derived from the frame's name and kind only, so the same profile
 * always draws the same picture. Viewed in any browser; no script.
 */
import type { FlameNode } from './fold.js';

export interface FlameGraphOptions {
  readonly title?: string;
  /** A line under the title (what was profiled, how long, how often). */
  readonly subtitle?: string;
  /** Pixels (default 1200). */
  readonly width?: number;
  /** Boxes narrower than this many pixels are left out (default 0.1). */
  readonly minWidth?: number;
}

const FRAME_HEIGHT = 16;
const FONT_SIZE = 12;
/** Average width of a character of the 12 px font (Verdana, sans-serif), for clipping labels. */
const CHAR_WIDTH = 7;
const PAD = 10;
const HEADER = 48;
const FOOTER = 8;

/** XML text and attribute escaping. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** FNV-1a over the name: the same name, the same colour, everywhere. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A frame's kind from its folded annotation: kernel `_[k]`, JIT `_[j]`, unknown, or native user code. */
export function frameKind(name: string): 'kernel' | 'jit' | 'unknown' | 'user' {
  if (name.endsWith('_[k]')) return 'kernel';
  if (name.endsWith('_[j]')) return 'jit';
  if (name.startsWith('[unknown]')) return 'unknown';
  return 'user';
}

/** The fill of a box: warm reds and yellows for native code, greens for JIT code, oranges for the kernel, grey for unknown frames. */
export function frameColour(name: string, depth: number): string {
  if (depth === 0) return 'rgb(200,200,200)';
  const h = hash(name);
  const a = (h & 0xff) / 255;
  const b = ((h >>> 8) & 0xff) / 255;
  const rgb = (r: number, g: number, bl: number) => `rgb(${Math.round(r)},${Math.round(g)},${Math.round(bl)})`;
  switch (frameKind(name)) {
    case 'kernel':
      return rgb(225 + 25 * a, 140 + 50 * b, 40 + 30 * a);
    case 'jit':
      return rgb(60 + 80 * a, 180 + 50 * b, 60 + 40 * b);
    case 'unknown':
      return rgb(170 + 30 * a, 170 + 30 * a, 170 + 30 * a);
    default:
      return rgb(215 + 40 * a, 70 + 150 * b, 40 + 30 * a);
  }
}

/** The name drawn: without the kind annotation. */
export function displayName(name: string): string {
  return name.replace(/_\[[kj]\]$/, '');
}

function depthOf(n: FlameNode): number {
  let d = 0;
  for (const c of n.children) d = Math.max(d, depthOf(c));
  return d + 1;
}

/** The flame graph of `root` (buildTree's), as a standalone SVG document. */
export function renderFlameGraph(root: FlameNode, options: FlameGraphOptions = {}): string {
  const width = options.width ?? 1200;
  const minWidth = options.minWidth ?? 0.1;
  const title = options.title ?? 'Flame Graph';
  const depth = depthOf(root);
  const height = HEADER + depth * FRAME_HEIGHT + FOOTER;
  const total = root.value;
  const scale = total > 0 ? (width - 2 * PAD) / total : 0;
  const out: string[] = [];
  out.push(
    `<?xml version="1.0" standalone="no"?>`,
    `<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="rgb(248,248,240)"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-family="Verdana, sans-serif" font-size="17">${escapeXml(title)}</text>`,
  );
  if (options.subtitle)
    out.push(
      `<text x="${width / 2}" y="38" text-anchor="middle" font-family="Verdana, sans-serif" font-size="12" fill="rgb(110,110,110)">${escapeXml(options.subtitle)}</text>`,
    );
  out.push(`<g font-family="Verdana, sans-serif" font-size="${FONT_SIZE}">`);
  const draw = (n: FlameNode, level: number, x: number): void => {
    const w = n.value * scale;
    if (level > 0 && w < minWidth) return;
    const y = height - FOOTER - (level + 1) * FRAME_HEIGHT;
    const pct = total > 0 ? ((100 * n.value) / total).toFixed(2) : '0.00';
    const name = level === 0 ? n.name : displayName(n.name);
    out.push(`<g><title>${escapeXml(`${name} (${n.value} sample${n.value === 1 ? '' : 's'}, ${pct}%)`)}</title>`);
    out.push(
      `<rect x="${(PAD + x).toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${FRAME_HEIGHT - 1}" rx="2" ry="2" fill="${frameColour(n.name, level)}"/>`,
    );
    const fits = Math.floor((w - 6) / CHAR_WIDTH);
    if (fits >= 3) {
      const label = name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
      out.push(`<text x="${(PAD + x + 3).toFixed(2)}" y="${y + FRAME_HEIGHT - 4}">${escapeXml(label)}</text>`);
    }
    out.push(`</g>`);
    let cx = x;
    for (const c of n.children) {
      draw(c, level + 1, cx);
      cx += c.value * scale;
    }
  };
  draw(root, 0, 0);
  out.push(`</g>`, `</svg>`, ``);
  return out.join('\n');
}
