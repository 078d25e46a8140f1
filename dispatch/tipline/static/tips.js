// The tip dashboard: figures from /api/v1/tips/stats, areas from /api/v1/jurisdictions,
// drawn as inline SVG (no map tiles, no CDN). Uses the console's session token.
const TOKEN_KEY = 'dispatch.token';
const $ = (id) => document.getElementById(id);
let figures = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (response.status === 401) { showLogin(); throw new Error('signed out'); }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== '') node.textContent = String(text);
  return node;
}

function row(table, cells, header = false) {
  const tr = el('tr');
  for (const c of cells) {
    const td = el(header ? 'th' : 'td', typeof c === 'number' ? { class: 'n' } : {}, c ?? '');
    tr.append(td);
  }
  table.append(tr);
}

function showLogin() { $('login').hidden = false; $('dash').hidden = true; }

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = new URLSearchParams(new FormData(event.target));
  const response = await fetch('/api/v1/auth/token', { method: 'POST', body });
  if (!response.ok) { $('login-error').textContent = 'Sign-in failed'; return; }
  const data = await response.json();
  sessionStorage.setItem(TOKEN_KEY, data.access_token);
  $('login').hidden = true;
  load();
});

function query() {
  const district = $('district').value;
  return district ? `?district=${encodeURIComponent(district)}` : '';
}

async function load() {
  if (!token()) { showLogin(); return; }
  figures = await (await api(`/api/v1/tips/stats${query()}`)).json();
  $('dash').hidden = false;
  renderSummary();
  renderStations();
  renderTrends();
  await renderTips();
  await renderMap();
}

function renderSummary() {
  const s = $('summary');
  s.textContent = '';
  const tta = figures.time_to_action_hours;
  s.append(el('p', {}, `${figures.total} tips · ${figures.open} open · ${figures.closed} closed · ` +
    `median time to action ${tta.median ?? '–'} h (${tta.count} with action)`));
  const sens = $('sensitivity');
  sens.textContent = '';
  for (const level of ['high', 'medium', 'low']) {
    sens.append(el('span', { class: level }, `${level}: ${figures.sensitivity[level]}  `));
  }
}

function renderStations() {
  const t = $('stations');
  t.textContent = '';
  row(t, ['Station', 'District', 'Total', 'Open', 'Closed', 'High'], true);
  for (const s of figures.stations) row(t, [s.name, s.district, s.total, s.open, s.closed, s.high]);
}

function renderTrends() {
  const kind = document.querySelector('input[name=period]:checked').value;
  const t = $('trends');
  t.textContent = '';
  const categories = [...new Set(figures[kind].flatMap((p) => Object.keys(p.categories)))].sort();
  row(t, ['Period', ...categories], true);
  for (const p of figures[kind]) row(t, [p.period, ...categories.map((c) => p.categories[c] || 0)]);
}

async function renderTips() {
  const tips = await (await api(`/api/v1/tips${query()}`)).json();
  const t = $('tips');
  t.textContent = '';
  row(t, ['Ref', 'Category', 'Sensitivity', 'Status', 'District', 'Station', 'Received'], true);
  for (const tip of tips.slice(0, 50)) {
    row(t, [tip.ref, tip.category, tip.sensitivity, tip.status, tip.district, tip.station_id,
      new Date(tip.created_at).toLocaleString('en-IN', { timeZone: 'Asia/Kolkata' })]);
  }
}

function heat(count, max) {
  if (!count) return '#f7fbff';
  const t = Math.min(1, count / Math.max(1, max));
  const r = 255, g = Math.round(220 - 180 * t), b = Math.round(160 - 140 * t);
  return `rgb(${r},${g},${b})`;
}

async function renderMap() {
  const counts = new Map(figures.stations.map((s) => [s.station_id, s.total]));
  const ids = figures.stations.map((s) => s.station_id).filter((id) => id !== 'unknown');
  const svg = $('svg');
  svg.textContent = '';
  const district = $('district').value;
  const all = await (await api('/api/v1/jurisdictions')).json();
  const features = all.features.filter((f) => {
    const p = f.properties || {};
    return district ? p.district === district : (ids.includes(p.id) || ids.length === 0 ||
      figures.stations.some((s) => s.district === p.district));
  });
  if (!features.length) { $('legend').textContent = 'No areas to draw.'; return; }
  let [minX, minY, maxX, maxY] = [180, 90, -180, -90];
  const rings = (g) => (g.type === 'Polygon' ? g.coordinates : g.type === 'MultiPolygon' ? g.coordinates.flat() : []);
  for (const f of features) for (const ring of rings(f.geometry)) for (const [x, y] of ring) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const W = 600, H = 420, k = Math.min(W / (maxX - minX || 1), H / (maxY - minY || 1));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const max = Math.max(1, ...counts.values());
  const ns = 'http://www.w3.org/2000/svg';
  for (const f of features) {
    const d = rings(f.geometry).map((ring) => 'M' + ring.map(([x, y]) =>
      `${((x - minX) * k).toFixed(1)},${(H - (y - minY) * k).toFixed(1)}`).join('L') + 'Z').join('');
    const path = document.createElementNS(ns, 'path');
    const id = f.properties.id;
    path.setAttribute('d', d);
    path.setAttribute('fill', heat(counts.get(id) || 0, max));
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${f.properties.name || id}: ${counts.get(id) || 0} tips`;
    path.append(title);
    svg.append(path);
  }
  $('legend').textContent = `Darker red: more tips (most: ${max}). Hover an area for its count.`;
}

$('district').addEventListener('change', load);
document.querySelectorAll('input[name=period]').forEach((r) => r.addEventListener('change', renderTrends));
$('csv').addEventListener('click', async () => {
  const blob = await (await api(`/api/v1/tips/stats${query() ? query() + '&' : '?'}format=csv`)).blob();
  const link = el('a', { href: URL.createObjectURL(blob), download: 'tips.csv' });
  link.click();
  URL.revokeObjectURL(link.href);
});
for (const d of ['Jaunpur', 'Ghazipur', 'Chandauli']) $('district').append(el('option', { value: d }, d));
load().catch(() => {});
