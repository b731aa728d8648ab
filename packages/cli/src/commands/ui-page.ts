/**
 * The inspector's page: HTML and its script (served as app.js, so the
 * content security policy can forbid inline scripts). Tables of programs
 * (with their costs, refreshed), maps and links; a map's elements a page at
 * a time; a ring buffer's records as they arrive. Every value goes into the
 * page as text, never as markup.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tsbpf inspector</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
  header { background: #1d232b; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  header span { opacity: .75; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; padding: 14px 18px; }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 8px 12px; overflow: auto; max-height: 360px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 14px; margin: 4px 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  th { font-weight: 600; color: #4a5563; position: sticky; top: 0; background: #fff; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  tr.hot td { background: #fff4e0; }
  button { font: inherit; padding: 2px 9px; border: 1px solid #b8c0ca; border-radius: 4px; background: #fff; cursor: pointer; }
  code, pre { font: 12px/1.4 ui-monospace, monospace; }
  .bar { display: inline-block; height: 8px; background: #e8743b; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
  #records li { font: 12px ui-monospace, monospace; border-bottom: 1px solid #eef0f3; padding: 2px 0; list-style: none; }
  #records { padding: 0; margin: 6px 0 0; }
  #map-view td { white-space: normal; overflow-wrap: anywhere; }
  .muted { color: #7a8491; }
</style>
</head>
<body>
<header><h1>tsbpf inspector</h1><span id="status">loading…</span></header>
<main>
  <section class="wide"><h2>Programs by CPU share</h2><table id="programs"><thead><tr>
    <th>id</th><th>type</th><th>name</th><th>CPU %</th><th>runs/s</th><th>avg ns</th><th>runs</th><th>run time ms</th><th>verified insns</th>
  </tr></thead><tbody></tbody></table></section>
  <section><h2>Maps</h2><table id="maps"><thead><tr>
    <th>id</th><th>type</th><th>name</th><th>key</th><th>value</th><th>max</th><th>memlock</th><th></th>
  </tr></thead><tbody></tbody></table></section>
  <section><h2>Links</h2><table id="links"><thead><tr>
    <th>id</th><th>type</th><th>prog</th><th>target</th>
  </tr></thead><tbody></tbody></table></section>
  <section><h2 id="map-title">Map contents</h2>
    <div><button id="prev">‹ prev</button> <button id="next">next ›</button> <span id="map-page" class="muted">choose a map</span></div>
    <table id="map-view"><thead><tr><th>key</th><th>value</th></tr></thead><tbody></tbody></table></section>
  <section><h2 id="ring-title">Ring buffer records</h2>
    <div><select id="rings"></select> <button id="stream">stream</button> <span id="ring-status" class="muted"></span></div>
    <ul id="records"></ul></section>
</main>
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
const PAGE = 20;
let mapId = 0;
let mapOffset = 0;
let source;

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) tr.appendChild(c);
  return tr;
}
function fill(table, rows) {
  const body = table.querySelector('tbody');
  body.replaceChildren(...rows);
}
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The server's refusal of a request, shown in the status line. */
class ApiError extends Error {}

async function api(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new ApiError(path + ': ' + r.status + ' ' + (await r.text()));
  return r.json();
}

async function refresh() {
  try {
    const o = await api('api/overview');
    $('status').textContent = o.programs.length + ' programs, ' + o.maps.length + ' maps, ' + o.links.length + ' links' +
      (o.statsOn ? ' · statistics on' : ' · statistics off (run as root)');
    const progs = [...o.programs].sort((a, b) => b.cpuPercent - a.cpuPercent || Number(b.runTimeNs) - Number(a.runTimeNs) || a.id - b.id);
    fill($('programs'), progs.map((p) => {
      const share = document.createElement('td');
      share.className = 'n';
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.min(100, p.cpuPercent * 4) + 'px';
      share.append(bar, p.cpuPercent.toFixed(2));
      const tr = row([cell(p.id, 'n'), cell(p.typeName), cell(p.name || '-'), share, cell(Math.round(p.runsPerSecond), 'n'),
        cell(Math.round(p.nsPerRun), 'n'), cell(p.runCount, 'n'), cell((Number(p.runTimeNs) / 1e6).toFixed(2), 'n'), cell(p.verifiedInstructions, 'n')]);
      tr.dataset.id = p.id;
      if (p.cpuPercent > 1) tr.className = 'hot';
      return tr;
    }));
    fill($('maps'), o.maps.map((m) => {
      const view = document.createElement('button');
      view.textContent = 'view';
      view.onclick = () => openMap(m.id, 0);
      const tr = row([cell(m.id, 'n'), cell(m.type), cell(m.name || '-'), cell(m.bytes_key + 'B', 'n'), cell(m.bytes_value + 'B', 'n'),
        cell(m.max_entries, 'n'), cell(m.bytes_memlock === undefined ? '' : m.bytes_memlock + 'B', 'n'), document.createElement('td')]);
      tr.lastChild.appendChild(view);
      tr.dataset.id = m.id;
      return tr;
    }));
    fill($('links'), o.links.map((l) => {
      const target = Object.entries(l).filter(([k]) => !['id', 'type', 'prog_id'].includes(k)).map(([k, v]) => k + ' ' + v).join('  ');
      return row([cell(l.id, 'n'), cell(l.type), cell(l.prog_id, 'n'), cell(target)]);
    }));
    const rings = o.maps.filter((m) => m.type === 'ringbuf');
    const select = $('rings');
    const chosen = select.value;
    if (select.options.length !== rings.length || [...select.options].some((opt, i) => opt.value !== String(rings[i].id))) {
      select.replaceChildren(...rings.map((m) => { const opt = document.createElement('option'); opt.value = m.id; opt.textContent = m.id + ' ' + (m.name || ''); return opt; }));
      if (chosen) select.value = chosen;
    }
  } catch (e) {
    $('status').textContent = String(e);
  }
}

async function openMap(id, offset) {
  mapId = id;
  mapOffset = Math.max(0, offset);
  try {
    const p = await api('api/map?id=' + id + '&offset=' + mapOffset + '&limit=' + PAGE);
    $('map-title').textContent = 'Map ' + id + ' ' + (p.map.name || '') + ' (' + p.map.type + ')';
    $('map-page').textContent = p.readable ? 'elements ' + (mapOffset + 1) + '–' + (mapOffset + p.entries.length) + (p.more ? ' …' : '') : 'no elements to read from user space';
    $('next').disabled = !p.more;
    $('prev').disabled = mapOffset === 0;
    fill($('map-view'), p.entries.map((e) => row([cell(show(e.key)), cell(show(e.values ?? e.value))])));
  } catch (e) {
    $('map-page').textContent = String(e);
  }
}

function stream() {
  const id = $('rings').value;
  if (!id) return;
  if (source) source.close();
  $('records').replaceChildren();
  source = new EventSource('api/ring?id=' + id);
  source.addEventListener('ready', (ev) => {
    const r = JSON.parse(ev.data);
    $('ring-title').textContent = 'Ring buffer ' + id + ' ' + r.map;
    $('ring-status').textContent = r.record ? 'records as ' + r.record : 'raw records (no record type in BTF)';
  });
  source.addEventListener('record', (ev) => {
    const li = document.createElement('li');
    li.textContent = ev.data;
    const list = $('records');
    list.prepend(li);
    while (list.children.length > 200) list.lastChild.remove();
  });
  source.onerror = () => { $('ring-status').textContent = 'stream closed'; };
}

$('prev').onclick = () => openMap(mapId, mapOffset - PAGE);
$('next').onclick = () => openMap(mapId, mapOffset + PAGE);
$('stream').onclick = stream;
refresh();
setInterval(refresh, 1000);
`;
