/**
 * profile(): the example's library entry: samples (profiler.ts), then names
 * the stacks while the profiled processes still run (report.ts); and the
 * outputs: folded text, the JSON document and the SVG flame graph.
 */
import { buildTree, formatFolded } from './fold.js';
import { renderFlameGraph } from './flamegraph.js';
import { foldedStacks, liveSymbolSources, nameProfile, type NamedProfile } from './report.js';
import { sampleStacks, type SampleOptions } from './profiler.js';

export { buildTree, formatFolded, parseFolded, topFrames, type FoldedStack } from './fold.js';
export { renderFlameGraph } from './flamegraph.js';
export { foldedStacks, lostSamples, profileJson, type NamedProfile, type NamedStack } from './report.js';
export type { SampleOptions } from './profiler.js';

/** Samples as `options` say and names every frame. */
export async function profile(options: SampleOptions = {}): Promise<NamedProfile> {
  const raw = await sampleStacks(options);
  return nameProfile(raw, liveSymbolSources());
}

/** The folded text of a profile (one process: its comm as the root frame; all: `comm-pid`). */
export function folded(p: NamedProfile, withPid = false): string {
  return formatFolded(foldedStacks(p, withPid));
}

/** The SVG flame graph of a profile. */
export function flameGraph(p: NamedProfile, options: { title?: string; subtitle?: string; withPid?: boolean; width?: number } = {}): string {
  const tree = buildTree(foldedStacks(p, options.withPid), 'all');
  return renderFlameGraph(tree, {
    title: options.title ?? 'CPU flame graph',
    subtitle: options.subtitle ?? `${p.samples} samples at ${p.frequency} Hz over ${p.seconds.toFixed(1)} s`,
    ...(options.width !== undefined ? { width: options.width } : {}),
  });
}
