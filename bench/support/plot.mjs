// A hand-written SVG line chart for bench/scale: one or more panels side by
// side, a linear or log x axis, a linear y axis from 0, one line per side
// (libbpf, cilium/ebpf, aya, tsbpf) with a legend. No plotting dependency:
// the plots are plain lines, axes and text.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (v >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(+v.toPrecision(3)));

/** The sides' colours, one look across every plot. */
export const STYLES = {
  libbpf: { label: 'libbpf (C)', color: '#444444', dash: '6 4' },
  cilium: { label: 'cilium/ebpf (Go)', color: '#1f77b4' },
  aya: { label: 'aya (Rust)', color: '#d62728' },
  tsbpf: { label: 'tsbpf', color: '#2ca02c' },
  tsbpf2: { label: 'tsbpf', color: '#98df8a', dash: '3 3' },
};

function niceStep(max, count = 5) {
  const raw = max / count || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/**
 * panels: [{ title, xLabel, yLabel, xLog?, series: { key: { label?, points: [[x, y], ...] } } }]
 * A series' style comes from STYLES[key] (its label overridable). Returns the SVG text.
 */
export function lineChart({ title, subtitle, panels }) {
  // One panel gets the room the title and subtitle need; side by side, each is narrower.
  const W = panels.length === 1 ? 700 : 470,
    H = 380,
    M = { left: 72, right: 20, top: 78, bottom: 96 };
  const width = W * panels.length;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  if (subtitle) out.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  panels.forEach((p, i) => {
    const x0 = i * W + M.left,
      x1 = (i + 1) * W - M.right,
      y0 = H - M.bottom,
      y1 = M.top;
    const pts = Object.values(p.series).flatMap((s) => s.points);
    const xs = [...new Set(pts.map(([x]) => x))].sort((a, b) => a - b);
    const tx = (x) => (p.xLog ? Math.log10(x) : x);
    const lo = tx(xs[0]),
      hi = tx(xs.at(-1));
    const pad = (hi - lo) * 0.04 || 0.5;
    const xOf = (x) => x0 + ((tx(x) - (lo - pad)) / (hi - lo + 2 * pad)) * (x1 - x0);
    const max = Math.max(...pts.map(([, y]) => y));
    const step = niceStep(max * 1.05);
    const top = Math.ceil((max * 1.05) / step) * step || 1;
    const yOf = (y) => y0 - (y / top) * (y0 - y1);
    out.push(`<text x="${(x0 + x1) / 2}" y="${y1 - 14}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    for (let v = 0; v <= top + step / 2; v += step) {
      out.push(`<line x1="${x0}" y1="${yOf(v)}" x2="${x1}" y2="${yOf(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${x0 - 6}" y="${yOf(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
    for (const x of xs) out.push(`<text x="${xOf(x)}" y="${y0 + 16}" text-anchor="middle">${fmt(x)}</text>`);
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#888"/>`);
    out.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 34}" text-anchor="middle">${esc(p.xLabel)}${p.xLog ? ' (log scale)' : ''}</text>`);
    out.push(`<text transform="translate(${x0 - 54} ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
    let lx = x0,
      ly = y0 + 56;
    for (const [key, s] of Object.entries(p.series)) {
      if (!s.points.length) continue;
      const st = { ...STYLES[key], ...(s.label ? { label: s.label } : {}) };
      const dash = st.dash ? ` stroke-dasharray="${st.dash}"` : '';
      const path = s.points.map(([x, y], k) => `${k ? 'L' : 'M'}${xOf(x).toFixed(1)},${yOf(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${path}" fill="none" stroke="${st.color}" stroke-width="2"${dash}/>`);
      for (const [x, y] of s.points) out.push(`<circle cx="${xOf(x).toFixed(1)}" cy="${yOf(y).toFixed(1)}" r="3" fill="${st.color}"/>`);
      // Legend under the panel, wrapped to its width.
      const w = 36 + 6.6 * st.label.length;
      if (lx > x0 && lx + w > x1) {
        lx = x0;
        ly += 18;
      }
      out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${st.color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${lx + 27}" y="${ly + 4}">${esc(st.label)}</text>`);
      lx += w;
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
