// A hand-written SVG line chart of bench/pod-firewall's traffic results: one
// panel per metric, rate against the number of rules on a log x axis, one
// line per variant. No plotting dependency.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (v >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(+v.toFixed(v >= 10 ? 0 : 1)));

/** A round step giving about `count` ticks up to `max`. */
function niceStep(max, count = 5) {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/**
 * panels: [{ title, unit, series: { variant: [[n, value], ...] } }]
 * styles: { variant: { label, color, dash? } }
 */
export function lineChartSvg({ title, subtitle, panels, styles }) {
  const W = 460,
    H = 360,
    M = { left: 70, right: 24, top: 96, bottom: 58 };
  const width = W * panels.length,
    height = H;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${width / 2}" y="37" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  // Legend, once, centred under the title.
  const variants = Object.keys(styles);
  const itemW = 150;
  let lx = width / 2 - (variants.length * itemW) / 2;
  for (const v of variants) {
    const s = styles[v];
    out.push(`<line x1="${lx}" y1="56" x2="${lx + 28}" y2="56" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<circle cx="${lx + 14}" cy="56" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 34}" y="60">${esc(s.label)}</text>`);
    lx += itemW;
  }
  panels.forEach((p, i) => {
    const x0 = i * W + M.left,
      x1 = (i + 1) * W - M.right,
      y0 = H - M.bottom,
      y1 = M.top;
    const ns = [...new Set(Object.values(p.series).flatMap((pts) => pts.map(([n]) => n)))].sort((a, b) => a - b);
    const lo = Math.log10(ns[0]),
      hi = Math.log10(ns.at(-1));
    const pad = (hi - lo) * 0.06 || 0.5;
    const xOf = (n) => x0 + ((Math.log10(n) - (lo - pad)) / (hi - lo + 2 * pad)) * (x1 - x0);
    const max = Math.max(...Object.values(p.series).flatMap((pts) => pts.map(([, v]) => v)));
    const step = niceStep(max * 1.05);
    const top = Math.ceil((max * 1.05) / step) * step;
    const yOf = (v) => y0 - (v / top) * (y0 - y1);
    out.push(`<g>`);
    out.push(`<text x="${(x0 + x1) / 2}" y="${y1 - 12}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    for (let v = 0; v <= top + step / 2; v += step) {
      const y = yOf(v).toFixed(1);
      out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${x0 - 6}" y="${(+y + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
    }
    // Log x: a tick per decade in range, labelled where a point is.
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      const n = 10 ** d;
      if (n < ns[0] || n > ns.at(-1)) continue;
      const x = xOf(n).toFixed(1);
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="${ns.includes(n) ? '#e4e4e4' : '#f3f3f3'}"/>`);
    }
    for (const n of ns) {
      const x = xOf(n).toFixed(1);
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/>`);
      out.push(`<text x="${x}" y="${y0 + 18}" text-anchor="middle">${n.toLocaleString('en-US')}</text>`);
    }
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/>`);
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`);
    out.push(`<text x="${(x0 + x1) / 2}" y="${H - 16}" text-anchor="middle">rules / policy entries (log scale)</text>`);
    out.push(`<text transform="translate(${i * W + 16},${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${esc(p.unit)}</text>`);
    for (const v of variants) {
      const pts = (p.series[v] ?? []).slice().sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) continue;
      const s = styles[v];
      const d = pts.map(([n, val], k) => `${k ? 'L' : 'M'}${xOf(n).toFixed(1)},${yOf(val).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
      for (const [n, val] of pts) {
        out.push(
          `<circle cx="${xOf(n).toFixed(1)}" cy="${yOf(val).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.label}, N=${n}: ${fmt(val)} ${p.unit}`)}</title></circle>`,
        );
      }
    }
    out.push(`</g>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
