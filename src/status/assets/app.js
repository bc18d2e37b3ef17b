// redline /status page: polls /status/data and renders it. No dependencies, no build step.
// Every string in the data is untrusted: it reaches the DOM only through
// textContent and setAttribute, never as markup.
'use strict';

const $ = (id) => document.getElementById(id);
const SVGNS = 'http://www.w3.org/2000/svg';
const FETCH = { credentials: 'same-origin', cache: 'no-store' };
const DASH = '–';
const TRACE_RE = /^[0-9a-f]{32}$/;

let data = null;     // last good /status/data document
let csrf = null;     // viewer.csrf for state-changing requests
let win = '1m';      // window shown in the routes and operations tables
let timer = 0;       // next poll
let seq = 0;         // poll generation: only the newest poll may reschedule
let lastOk = 0;      // browser time of the last good refresh

// --- DOM helpers ---

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text != null) e.textContent = text;
  return e;
}

// Only touch the DOM when the text changed (keeps selections and avoids churn).
function setText(e, s) {
  s = s == null ? '' : String(s);
  if (e.textContent !== s) e.textContent = s;
}

// Replace a cell's content with make() only when its key changed.
function put(td, key, make) {
  if (td.dataset.k !== String(key)) td.replaceChildren(make());
  td.dataset.k = key;
}

const setState = (s) => { document.body.dataset.state = s; };

// --- formatting (all robust to null / NaN) ---

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const str = (v) => (typeof v === 'string' && v !== '' ? v : DASH);
const sig = (v) => String(+v.toPrecision(3));
const fmtInt = (v) => (num(v) ? Math.round(v).toLocaleString('en-US') : DASH);
const fmtRate = (v) => (!num(v) ? DASH : v >= 1000 ? fmtInt(v) : sig(v));
const fmtPct = (r) => (!num(r) ? DASH : r === 0 ? '0%' : sig(r * 100) + '%');
const fmtMs = (ms) => (num(ms) ? fmtSec(ms / 1000) : DASH);

function fmtSec(s) {
  if (!num(s)) return DASH;
  if (s === 0) return '0';
  if (s < 1e-4) return sig(s * 1e6) + ' µs';
  if (s < 1) return sig(s * 1e3) + ' ms';
  return s < 600 ? sig(s) + ' s' : fmtDur(s);
}

function fmtDur(s) {
  if (!num(s) || s < 0) return DASH;
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (m < 1) return Math.floor(s) + 's';
  if (h < 1) return `${m}m ${Math.floor(s % 60)}s`;
  return d < 1 ? `${h}h ${m % 60}m` : `${d}d ${h % 24}h`;
}

function fmtBytes(b) {
  if (!num(b)) return DASH;
  const i = Math.max(0, Math.min(4, Math.floor(Math.log2(b) / 10)));
  return (i ? (b / 1024 ** i).toFixed(1) : b) + ' ' + ['B', 'KiB', 'MiB', 'GiB', 'TiB'][i];
}

// Relative to the server's clock (now_ms), so browser clock skew does not matter.
function fmtAgo(ms) {
  if (!num(ms)) return DASH;
  const s = ((data && num(data.now_ms) ? data.now_ms : Date.now()) - ms) / 1000;
  return s < 5 ? 'just now' : s < 60 ? Math.round(s) + ' s ago' : s < 3600 ? Math.floor(s / 60) + ' min ago'
    : s < 86400 ? Math.floor(s / 3600) + ' h ago' : Math.floor(s / 86400) + ' d ago';
}

const fmtClock = (ms) => (num(ms) ? new Date(ms).toLocaleTimeString('en-GB', { hour12: false }) : DASH);
const fmtDate = (ms) => (num(ms) ? new Date(ms).toLocaleString() : '');
const statusOf = (s) => (s === 'pass' || s === 'warn' || s === 'fail' ? s : 'unknown');
const arr = (v) => (Array.isArray(v) ? v : []);
const rows = (v) => arr(v).filter((x) => x && typeof x === 'object'); // table items
const obj = (v) => (v && typeof v === 'object' ? v : {});

function lastNum(vals) {
  for (let i = vals.length - 1; i >= 0; i--) if (num(vals[i])) return vals[i];
  return null;
}

// --- small widgets ---

function badge(status) {
  const st = statusOf(status);
  const b = el('span', 'badge', st === 'unknown' ? str(status) : st);
  b.dataset.status = st;
  return b;
}

// A trace id: a link to the trace UI when configured and the id is well formed,
// otherwise the id as code with a copy button.
function traceNode(id) {
  if (typeof id !== 'string' || id === '') return document.createTextNode(DASH);
  const url = traceUrl();
  if (url && TRACE_RE.test(id)) {
    const href = url.split('{trace_id}').join(id);
    return Object.assign(el('a', 'trace-id', id), { href, target: '_blank', rel: 'noopener noreferrer', title: 'Open trace ' + id });
  }
  const wrap = el('span', 'tid');
  const b = Object.assign(el('button', 'copy'), { type: 'button', title: 'Copy trace id' });
  b.appendChild(svg('svg', { viewBox: '0 0 16 16', 'aria-hidden': 'true' })).appendChild(svg('path', { d: 'M5 5h8v9H5zM3 11V2h8' }));
  wrap.append(Object.assign(el('code', 'trace-id', id), { title: id }), b);
  return wrap;
}

// Only http(s) trace UI URLs are used; anything else is treated as unset.
function traceUrl() {
  const u = data && data.trace_ui_url;
  return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null;
}

const traceCell = (get) => (td, it) => put(td, (traceUrl() || '') + '|' + get(it), () => traceNode(get(it)));
const textCell = (get) => (td, it) => setText(td, get(it));

// Copy a trace id; without the clipboard API (plain http) select it instead.
function copy(btn) {
  const code = btn.previousElementSibling;
  const done = () => { btn.classList.add('done'); setTimeout(() => btn.classList.remove('done'), 1200); };
  const select = () => getSelection().selectAllChildren(code);
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(code.textContent).then(done, select);
  else select();
}

// --- tables ---

// Sync tbody rows with items, reusing rows by key so unchanged cells are not rebuilt
// (and text selections survive a refresh). cols: [className, fill(td, item)].
function syncTable(table, items, keyAttr, keyOf, cols) {
  const body = table.tBodies[0], old = new Map();
  for (const tr of body.rows) old.set(tr.getAttribute(keyAttr), tr);
  items.forEach((it, i) => {
    const key = String(keyOf(it, i));
    let tr = old.get(key);
    old.delete(key);
    if (!tr) {
      tr = el('tr');
      tr.setAttribute(keyAttr, key);
      for (const [cls] of cols) tr.appendChild(el('td', cls));
    }
    cols.forEach(([, fill], c) => fill(tr.cells[c], it));
    if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] || null);
  });
  while (body.rows.length > items.length) body.deleteRow(-1); // rows not reused end up last
  table.parentNode.toggleAttribute('data-empty', !items.length);
}

// A small rate sparkline.
function spark(vals) {
  const W = 80, H = 18;
  const s = svg('svg', { class: 'spark', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'aria-hidden': 'true' });
  const max = Math.max(0, ...vals.filter(num)) || 1;
  const n = vals.length;
  const segs = segments(vals, (i) => (n > 1 ? (i * (W - 2)) / (n - 1) + 1 : W / 2), (v) => H - 2 - (v / max) * (H - 4));
  s.appendChild(svg('path', { d: lineD(segs) }));
  return s;
}

// Routes and operations tables: same shape, keyed by name, for the chosen window.
function renderStats(id) {
  const stat = (it) => obj(obj(it.windows)[win]);
  const cell = (k, f) => textCell((it) => f(stat(it)[k]));
  syncTable($(id), rows(data[id]), id === 'routes' ? 'data-route' : 'data-operation', (it) => it.name, [
    ['name', (td, it) => {
      const r = stat(it).error_ratio;
      setText(td, str(it.name));
      td.title = str(it.name);
      td.parentNode.classList.toggle('warn', num(r) && r > 0);
    }],
    ['rate num', cell('rate', fmtRate)],
    ['errors num', cell('error_ratio', fmtPct)],
    ['p50 num', cell('p50', fmtSec)],
    ['p95 num', cell('p95', fmtSec)],
    ['p99 num', cell('p99', fmtSec)],
    ['trend', (td, it) => td.replaceChildren(spark(arr(obj(it.spark).rate)))],
  ]);
}

function renderRecent(tableId, items) {
  syncTable($(tableId), rows(items), 'data-i', (it, i) => i, [
    ['time', (td, it) => { setText(td, fmtClock(it.at_ms)); td.title = fmtAgo(it.at_ms); }],
    ['method', textCell((it) => str(it.method))],
    ['route', (td, it) => { setText(td, str(it.route)); td.title = str(it.route); }],
    ['status num', (td, it) => {
      setText(td, num(it.status) ? it.status : DASH);
      td.dataset.code = num(it.status) ? String(it.status)[0] + 'xx' : '';
      td.title = typeof it.error === 'string' ? it.error : '';
    }],
    ['dur num', textCell((it) => fmtMs(it.duration_ms))],
    ['req', (td, it) => put(td, it.request_id, () => (typeof it.request_id === 'string' && it.request_id
      ? el('code', null, it.request_id) : document.createTextNode(DASH)))],
    ['trace', traceCell((it) => it.trace_id)],
  ]);
}

// --- charts ---

// Split a series at null/NaN into runs of [x, y] points.
function segments(vals, xf, yf) {
  const out = [];
  let cur = null;
  vals.forEach((v, i) => {
    if (!num(v)) { cur = null; return; }
    if (!cur) out.push((cur = []));
    cur.push([xf(i).toFixed(1), yf(v).toFixed(1)]);
  });
  return out;
}

// 'h0' gives a lone point (between gaps) a visible round cap.
const lineD = (segs) => segs.map((s) => 'M' + s.map((p) => p.join(' ')).join('L') + 'h0').join('');
const areaD = (segs, base) =>
  segs.map((s) => `M${s[0][0]} ${base}L${s.map((p) => p.join(' ')).join('L')}L${s[s.length - 1][0]} ${base}Z`).join('');

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v)), m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

const CHARTS = [
  { id: 'rate', title: 'Requests per second', fmt: fmtRate, area: true,
    series: [['rate', 'req/s', 's-rate']] },
  { id: 'errors', title: 'Error ratio', fmt: fmtPct, area: true,
    series: [['error_ratio', 'errors', 's-err']] },
  { id: 'latency', title: 'Latency percentiles', fmt: fmtSec,
    series: [['p50', 'p50', 's-p50'], ['p95', 'p95', 's-p95'], ['p99', 'p99', 's-p99']] },
];

// Draw one chart into its <svg>; x is time (last point = chart.end_ms = now), y starts at 0.
function drawChart(def, chart) {
  const node = $('chart-' + def.id);
  const box = node.getBoundingClientRect();
  const W = Math.max(240, Math.round(box.width)), H = Math.max(120, Math.round(box.height));
  const L = 50, R = 10, T = 10, B = 20, w = W - L - R, h = H - T - B;
  const step = num(chart.step_seconds) && chart.step_seconds > 0 ? chart.step_seconds : 5;
  const series = def.series.map(([key, label, cls]) => ({ key, label, cls, vals: arr(chart[key]) }));
  const n = Math.max(0, ...series.map((s) => s.vals.length));
  const span = Math.max(900, (n - 1) * step);
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.vals.filter(num))));
  const xf = (i) => L + w - (((n - 1 - i) * step) / span) * w;
  const yf = (v) => T + h - (Math.min(v, max) / max) * h;

  const kids = [svg('title', {}, def.title)];
  for (const f of [0, 0.5, 1]) {
    const y = (T + h - f * h).toFixed(1);
    kids.push(svg('line', { class: 'grid', x1: L, x2: L + w, y1: y, y2: y }));
    kids.push(svg('text', { x: L - 6, y: +y + 3.5, 'text-anchor': 'end' }, def.fmt(max * f)));
  }
  const tick = span > 600 ? 300 : 60;
  for (let t = 0; t <= span; t += tick) {
    const x = L + w - (t / span) * w;
    const anchor = t === 0 ? 'end' : x - L < 20 ? 'start' : 'middle';
    kids.push(svg('line', { class: 'tick', x1: x, x2: x, y1: T + h, y2: T + h + 4 }));
    kids.push(svg('text', { x, y: H - 4, 'text-anchor': anchor }, t === 0 ? 'now' : `−${Math.round(t / 60)} min`));
  }
  let any = false;
  for (const s of series) {
    const segs = segments(s.vals, xf, yf);
    any = any || segs.length > 0;
    if (def.area) kids.push(svg('path', { class: 'area ' + s.cls, d: areaD(segs, T + h) }));
    kids.push(svg('path', { class: 'line ' + s.cls, d: lineD(segs) }));
  }
  if (!any) kids.push(svg('text', { x: L + w / 2, y: T + h / 2, 'text-anchor': 'middle' }, 'No data yet'));
  node.setAttribute('viewBox', `0 0 ${W} ${H}`);
  node.replaceChildren(...kids);

  // Legend with the latest values; data-last(-<series>) hold the raw last values (data-last: last series).
  const legend = $('legend-' + def.id);
  legend.replaceChildren(...series.map((s) => {
    const item = el('span', 'li');
    item.append(el('i', 'sw ' + s.cls), el('span', null, s.label + ' '), el('b', null, def.fmt(lastNum(s.vals))));
    return item;
  }));
  for (const s of series) node.setAttribute('data-last-' + s.key, String(lastNum(s.vals) ?? ''));
  node.setAttribute('data-last', String(lastNum(series[series.length - 1].vals) ?? ''));
}

function drawCharts() {
  if (data) for (const def of CHARTS) drawChart(def, obj(data.chart));
}

// --- sections ---

function renderHeader(d) {
  const s = obj(d.service), h = obj(d.health), v = d.viewer && typeof d.viewer === 'object' ? d.viewer : null;
  setText($('svc-name'), str(s.name));
  setText($('svc-version'), typeof s.version === 'string' ? 'v' + s.version : DASH);
  setText($('svc-revision'), str(s.revision));
  setText($('svc-instance'), str(s.instance));
  setText($('uptime'), fmtDur(s.uptime_seconds));
  $('uptime').title = 'Started ' + fmtDate(s.started_ms);
  const ready = $('ready');
  ready.dataset.ready = String(h.ready === true);
  setText(ready, h.ready === true ? 'ready' : 'not ready');

  const st = statusOf(h.status), overall = $('overall');
  overall.dataset.status = st;
  setText(overall, st === 'unknown' ? str(h.status) : st);
  document.title = `${st.toUpperCase()} · ${typeof s.name === 'string' ? s.name : 'service'} status`;

  csrf = v && typeof v.csrf === 'string' ? v.csrf : null;
  setText($('viewer-principal'), v ? str(v.principal) : d.public ? 'public view' : DASH);
  setText($('viewer-role'), v ? str(v.role) : '');
  $('logout').hidden = !csrf;
}

function renderHealth(d) {
  syncTable($('health-checks'), rows(obj(d.health).checks), 'data-check', (c) => c.name, [
    ['name', textCell((c) => str(c.name))],
    ['st', (td, c) => put(td, statusOf(c.status) + String(c.status), () => badge(c.status))],
    ['num', textCell((c) => fmtMs(c.duration_ms))],
    ['out', textCell((c) => (typeof c.output === 'string' ? c.output : ''))],
  ]);
}

function renderErrors(d) {
  const e = obj(d.errors);
  setText($('errors-total'), num(e.total) ? fmtInt(e.total) + ' total' : '');
  const seen = (k) => (td, g) => { setText(td, fmtAgo(g[k])); td.title = fmtDate(g[k]); };
  syncTable($('error-groups'), rows(e.groups), 'data-fingerprint', (g) => g.fingerprint, [
    ['kind', (td, g) => put(td, g.kind, () => el('code', 'kind', str(g.kind)))],
    ['msg', textCell((g) => str(g.message))],
    ['route', textCell((g) => str(g.route))],
    ['num', textCell((g) => fmtInt(g.count))],
    ['time', seen('first_seen_ms')],
    ['time', seen('last_seen_ms')],
    ['trace', traceCell((g) => g.trace_id)],
  ]);
}

function renderPipeline(d) {
  const p = obj(d.pipeline);
  for (const b of $('pipeline').querySelectorAll('[data-key]')) {
    const k = b.dataset.key, v = p[k];
    setText(b, fmtInt(v));
    b.classList.toggle('bad', !/written|exported/.test(k) && num(v) && v > 0);
  }
}

// Fill an inline bar (<svg class="bar">) with used/limit; hidden without a limit.
function bar(id, used, limit) {
  const b = $(id), ok = num(used) && num(limit) && limit > 0;
  const f = ok ? Math.min(1, used / limit) : 0;
  b.classList.toggle('off', !ok);
  b.classList.toggle('hi', f > 0.8);
  b.lastElementChild.setAttribute('width', (f * 100).toFixed(1));
}

function renderProcess(d) {
  const p = obj(d.process), q = (k, t) => setText($('process').querySelector(`[data-key="${k}"]`), t);
  const of = (v, max, f) => f(v) + (num(max) ? ' of ' + f(max) : '');
  q('cpu', num(p.cpu_cores) ? p.cpu_cores.toFixed(2) + ' cores' : DASH);
  q('memory', of(p.memory_bytes, p.memory_limit_bytes, fmtBytes));
  q('fds', of(p.open_fds, p.max_fds, fmtInt));
  q('threads', fmtInt(p.threads));
  bar('mem-bar', p.memory_bytes, p.memory_limit_bytes);
  bar('fd-bar', p.open_fds, p.max_fds);
}

// --- operator panel ---

function panelStatus(msg, cls) {
  setText($('panel-status'), msg);
  $('panel-status').className = cls || '';
}

// One row per field: label, slider, number input (name = field name), apply button, current value.
function fieldRow(f) {
  const row = el('div', 'field'), name = String(f.name), label = String(f.label || f.name);
  const apply = Object.assign(el('button', 'btn apply', 'Apply'), { type: 'button' });
  const lab = el('span', 'flabel');
  lab.append(el('b', null, label), el('span', 'unit', typeof f.unit === 'string' ? f.unit : ''));
  row.dataset.field = apply.dataset.field = name;
  row.append(lab, Object.assign(el('input', 'range'), { type: 'range', ariaLabel: label }),
    Object.assign(el('input', 'value'), { type: 'number', name, ariaLabel: label }), apply, el('span', 'cur'));
  return row;
}

function renderPanel(p) {
  $('panel').hidden = !(p && typeof p === 'object');
  if ($('panel').hidden) return;
  setText($('panel-title'), str(p.title));
  const box = $('panel-fields'), old = new Map(), fields = rows(p.fields);
  for (const r of box.children) old.set(r.dataset.field, r);
  fields.forEach((f, i) => {
    const row = old.get(String(f.name)) || fieldRow(f), [range, input] = row.querySelectorAll('input');
    old.delete(String(f.name));
    for (const a of ['min', 'max', 'step']) if (num(f[a])) { range.setAttribute(a, f[a]); input.setAttribute(a, f[a]); }
    // Never overwrite a value the user is editing (rows are moved only when needed, keeping focus).
    if (!row.dataset.dirty && !row.contains(document.activeElement) && num(f.value)) input.value = range.value = f.value;
    setText(row.querySelector('.cur'), 'now ' + (num(f.value) ? f.value : DASH));
    if (box.children[i] !== row) box.insertBefore(row, box.children[i] || null);
  });
  while (box.children.length > fields.length) box.lastElementChild.remove();
}

async function applyField(row) {
  const name = row.dataset.field, value = row.querySelector('input.value').valueAsNumber;
  if (!num(value)) return panelStatus(`${name}: enter a number`, 'err');
  panelStatus(`Applying ${name}…`, '');
  try {
    const res = await fetch('/status/panel', {
      ...FETCH, method: 'PUT',
      headers: { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
      body: JSON.stringify({ name, value }),
    });
    const j = await res.json().catch(() => null);
    if (res.status === 401) return showLogin(message(j, res));
    if (!res.ok) return panelStatus(message(j, res), 'err');
    delete row.dataset.dirty;
    if (row.contains(document.activeElement)) document.activeElement.blur();
    if (j && Array.isArray(j.fields)) renderPanel(j);
    panelStatus(`${name} set to ${value}`, 'ok');
  } catch (e) {
    panelStatus('Request failed: ' + e.message, 'err');
  }
}

// --- polling, login, logout ---

function message(j, res) {
  return j && typeof j.message === 'string' ? j.message : `Request failed (HTTP ${res.status})`;
}

function render(d) {
  renderHeader(d);
  renderHealth(d);
  drawCharts();
  renderStats('routes');
  renderStats('operations');
  renderErrors(d);
  renderRecent('recent-slowest', obj(d.recent).slowest);
  renderRecent('recent-failed', obj(d.recent).failed);
  renderPipeline(d);
  renderProcess(d);
  renderPanel(d.panel);
}

function intervalMs() {
  const s = data && (data.refresh_seconds || data.interval_seconds);
  return (num(s) ? Math.min(300, Math.max(1, s)) : 5) * 1000;
}

function stale(why) {
  setState('stale');
  const since = lastOk ? ` Showing data from ${fmtClock(lastOk)}.` : '';
  setText($('stale'), `Connection lost (${why}).${since} Retrying every ${intervalMs() / 1000} s…`);
}

async function poll() {
  clearTimeout(timer);
  const my = ++seq;
  let res, d;
  try {
    res = await fetch('/status/data', FETCH);
    if (res.ok) d = await res.json();
  } catch (e) {
    if (my === seq) { stale(res ? 'bad response' : 'network error'); schedule(); }
    return;
  }
  if (my !== seq) return;
  if (res.status === 401) return showLogin(data ? 'Your session has ended; sign in again.' : '');
  if (!res.ok || !d || typeof d !== 'object') { stale(`HTTP ${res.status}`); return schedule(); }
  data = d;
  lastOk = Date.now();
  setState('live');
  try { render(d); } catch (e) { console.error('status page: render failed', e); }
  setText($('updated'), fmtClock(lastOk));
  schedule();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(poll, intervalMs());
}

function showLogin(msg) {
  clearTimeout(timer);
  seq++;
  setState('login');
  setText($('login-error'), msg || '');
  $('login-submit').disabled = false;
  $('login-token').focus();
}

async function login(token) {
  const btn = $('login-submit');
  btn.disabled = true;
  setText($('login-error'), '');
  try {
    const res = await fetch('/status/login', {
      ...FETCH, method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    if (res.ok) {
      $('login-token').value = '';
      btn.disabled = false;
      return poll();
    }
    showLogin(message(await res.json().catch(() => null), res));
  } catch (e) {
    showLogin('Cannot reach the server.');
  }
}

async function logout() {
  try {
    await fetch('/status/logout', { ...FETCH, method: 'POST', headers: csrf ? { 'X-CSRF-Token': csrf } : {} });
  } catch (e) { /* the session is dropped client-side either way */ }
  csrf = null;
  showLogin('');
}

// --- events ---

function init() {
  $('login').addEventListener('submit', (ev) => { ev.preventDefault(); login($('login-token').value); });
  $('logout').addEventListener('click', logout);

  const windows = document.querySelectorAll('[data-window]');
  for (const b of windows) b.addEventListener('click', () => {
    win = b.dataset.window;
    for (const o of windows) { o.classList.toggle('on', o === b); o.setAttribute('aria-pressed', o === b); }
    if (data) { renderStats('routes'); renderStats('operations'); }
  });

  document.addEventListener('click', (ev) => { const b = ev.target.closest('button.copy'); if (b) copy(b); });

  // Panel: slider and number input mirror each other; an edited row is 'dirty' until applied.
  const fields = $('panel-fields');
  fields.addEventListener('input', (ev) => {
    const row = ev.target.closest('.field'), [range, input] = row.querySelectorAll('input');
    if (ev.target === range) input.value = range.value; else range.value = input.value;
    row.dataset.dirty = '1';
  });
  fields.addEventListener('click', (ev) => { if (ev.target.matches('button.apply')) applyField(ev.target.closest('.field')); });
  fields.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.target.matches('input.value')) applyField(ev.target.closest('.field'));
  });

  let raf = 0;
  window.addEventListener('resize', () => { cancelAnimationFrame(raf); raf = requestAnimationFrame(drawCharts); });

  window.addEventListener('hashchange', hashLogin);
  if (!hashLogin()) start();
}

// Asks whether this browser has a session (or the data is public) before
// polling, so a first visit shows the login form without a failed request.
async function start() {
  try {
    const res = await fetch('/status/session', FETCH);
    const s = res.ok ? await res.json() : null;
    if (s && (s.authenticated || s.public)) return poll();
  } catch (e) { /* fall through to the form */ }
  showLogin('');
}

// Login link: /status#token=... logs in once and drops the fragment from the address bar.
function hashLogin() {
  if (!location.hash.startsWith('#token=')) return false;
  let token = '';
  try { token = decodeURIComponent(location.hash.slice(7)); } catch (e) { /* malformed: ignore */ }
  history.replaceState(null, '', location.pathname);
  if (!token) return false;
  login(token);
  return true;
}

init();
