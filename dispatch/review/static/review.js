// The supervisors' response-time review: no build step, charts drawn as inline SVG.
// Signs in with the console's bearer token (sessionStorage) or with its own form.
import { t, add, lang, setLang, applyStatic } from '/static/i18n.js';

// The console's keys (console/static/api.js): one sign-in serves both pages.
const TOKEN_KEY = 'dispatch.token';
const USER_KEY = 'dispatch.user';
const API = '/api/v1/review/response-times';
const SVG = 'http://www.w3.org/2000/svg';
const INTERVALS = ['resolved', 'acknowledged', 'dispatched', 'on_scene', 'contacted', 'closed'];

add('en', {
  'review.title': 'Response-time review', 'review.console': 'Console', 'review.lang': 'हिंदी',
  'review.logout': 'Sign out', 'review.login': 'Sign in', 'review.username': 'Username',
  'review.password': 'Password', 'review.signin': 'Sign in', 'review.from': 'From',
  'review.to': 'To', 'review.unit': 'Unit', 'review.unit.mine': 'My unit',
  'review.unit.state': 'State', 'review.unit.range': 'Range', 'review.unit.district': 'District',
  'review.unit.circle': 'Circle', 'review.unit.station': 'Station',
  'review.unit_id': 'Name or station id', 'review.group': 'League of', 'review.show': 'Show',
  'review.csv_units': 'CSV (units)', 'review.csv_alerts': 'CSV (alerts)',
  'review.intervals': 'Time from receipt', 'review.histogram': 'Time to acknowledge: distribution',
  'review.trend': 'Weekly trend', 'review.outcomes': 'Outcomes', 'review.monthly': 'Months',
  'review.league': 'League table (slowest first)', 'review.slowest': 'Slowest alerts',
  'review.loading': 'Loading…', 'review.heading': '{unit} · {from} to {to} (India time)',
  'review.alerts': 'Alerts', 'review.ack_median': 'Median to acknowledge',
  'review.ack_p90': '90th percentile to acknowledge', 'review.ack_breaches': 'Acknowledged late (>{t})',
  'review.contact_breaches': 'Person contacted late (>{t})', 'review.escalated': 'Escalated',
  'review.lives_saved': 'Lives saved', 'review.interval': 'From receipt to',
  'review.count': 'Alerts', 'review.median': 'Median', 'review.p90': '90th percentile',
  'review.i.resolved': 'station found', 'review.i.acknowledged': 'acknowledged',
  'review.i.dispatched': 'team dispatched', 'review.i.on_scene': 'on scene',
  'review.i.contacted': 'person contacted', 'review.i.closed': 'closed',
  'review.week': 'Week of', 'review.month': 'Month', 'review.outcome': 'Outcome',
  'review.o.attempt_interrupted': 'Attempt interrupted',
  'review.o.found_safe_counselled': 'Found safe, counselled', 'review.o.hospitalised': 'Hospitalised',
  'review.o.not_traced': 'Not traced', 'review.o.false_alarm': 'False alarm',
  'review.o.transferred': 'Transferred', 'review.o.deceased': 'Deceased',
  'review.o.none': 'No outcome yet', 'review.id': 'Alert', 'review.received': 'Received',
  'review.station': 'Station', 'review.breaches': 'Breaches (ack / contact)',
  'review.median_ack': 'Median ack', 'review.p90_ack': 'p90 ack',
  'review.median_contact': 'Median contact', 'review.none': 'No alerts in this period.',
  'review.method': 'Percentiles: {m}', 'review.unauthorised': 'Please sign in again.',
  'review.error': 'Error: {detail}',
});
add('hi', {
  'review.title': 'प्रतिक्रिया-समय समीक्षा', 'review.console': 'कंसोल', 'review.lang': 'English',
  'review.logout': 'साइन आउट', 'review.login': 'साइन इन', 'review.username': 'उपयोगकर्ता नाम',
  'review.password': 'पासवर्ड', 'review.signin': 'साइन इन', 'review.from': 'से',
  'review.to': 'तक', 'review.unit': 'इकाई', 'review.unit.mine': 'मेरी इकाई',
  'review.unit.state': 'राज्य', 'review.unit.range': 'परिक्षेत्र', 'review.unit.district': 'जनपद',
  'review.unit.circle': 'सर्किल', 'review.unit.station': 'थाना',
  'review.unit_id': 'नाम या थाना आईडी', 'review.group': 'तालिका इकाई', 'review.show': 'दिखाएँ',
  'review.csv_units': 'CSV (इकाइयाँ)', 'review.csv_alerts': 'CSV (अलर्ट)',
  'review.intervals': 'प्राप्ति से समय', 'review.histogram': 'स्वीकार करने का समय: वितरण',
  'review.trend': 'साप्ताहिक रुझान', 'review.outcomes': 'परिणाम', 'review.monthly': 'महीने',
  'review.league': 'थाना तालिका (सबसे धीमे पहले)', 'review.slowest': 'सबसे धीमे अलर्ट',
  'review.loading': 'लोड हो रहा है…', 'review.heading': '{unit} · {from} से {to} (भारतीय समय)',
  'review.alerts': 'अलर्ट', 'review.ack_median': 'स्वीकार करने का माध्य समय',
  'review.ack_p90': 'स्वीकार करने का 90वाँ प्रतिशतक', 'review.ack_breaches': 'देर से स्वीकार (>{t})',
  'review.contact_breaches': 'व्यक्ति से देर से संपर्क (>{t})', 'review.escalated': 'एस्केलेट हुए',
  'review.lives_saved': 'बचाई गई जानें', 'review.interval': 'प्राप्ति से',
  'review.count': 'अलर्ट', 'review.median': 'माध्यिका', 'review.p90': '90वाँ प्रतिशतक',
  'review.i.resolved': 'थाना निर्धारित', 'review.i.acknowledged': 'स्वीकार',
  'review.i.dispatched': 'टीम रवाना', 'review.i.on_scene': 'मौके पर',
  'review.i.contacted': 'व्यक्ति से संपर्क', 'review.i.closed': 'बंद',
  'review.week': 'सप्ताह', 'review.month': 'महीना', 'review.outcome': 'परिणाम',
  'review.o.attempt_interrupted': 'प्रयास रोका गया',
  'review.o.found_safe_counselled': 'सुरक्षित मिले, परामर्श दिया', 'review.o.hospitalised': 'अस्पताल में भर्ती',
  'review.o.not_traced': 'पता नहीं चला', 'review.o.false_alarm': 'झूठी सूचना',
  'review.o.transferred': 'स्थानांतरित', 'review.o.deceased': 'मृत्यु',
  'review.o.none': 'परिणाम अभी नहीं', 'review.id': 'अलर्ट', 'review.received': 'प्राप्त',
  'review.station': 'थाना', 'review.breaches': 'उल्लंघन (स्वीकार / संपर्क)',
  'review.median_ack': 'माध्य स्वीकार', 'review.p90_ack': 'p90 स्वीकार',
  'review.median_contact': 'माध्य संपर्क', 'review.none': 'इस अवधि में कोई अलर्ट नहीं।',
  'review.method': 'प्रतिशतक: {m}', 'review.unauthorised': 'कृपया फिर से साइन इन करें।',
  'review.error': 'त्रुटि: {detail}',
});

const $ = (id) => document.getElementById(id);
let last = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

function istDate(iso) {
  return new Date(iso).toLocaleString(lang() === 'hi' ? 'hi-IN' : 'en-IN',
    { timeZone: 'Asia/Kolkata', dateStyle: 'medium', timeStyle: 'short' });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function table(id, header, rows) {
  const target = $(id);
  target.replaceChildren(el('tr', {}, ...header.map((h) => el('th', {}, h))));
  for (const row of rows) {
    target.append(el('tr', {}, ...row.map((c) => (c instanceof Node && c.tagName === 'TD') ? c : el('td', {}, c))));
  }
}

function params(extra = {}) {
  const form = new FormData($('filters'));
  const q = new URLSearchParams();
  for (const [k, v] of form.entries()) if (v) q.set(k, v);
  if (!q.get('unit')) { q.delete('unit'); q.delete('unit_id'); }
  if (q.get('unit') === 'state') q.delete('unit_id');
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}

async function api(query) {
  const r = await fetch(`${API}?${query}`, { headers: { Authorization: `Bearer ${token()}` } });
  if (r.status === 401) { signOut(t('review.unauthorised')); throw new Error('401'); }
  if (!r.ok) {
    let detail = r.statusText;
    try {
      const body = await r.json();
      detail = Array.isArray(body.detail) ? body.detail.map((d) => d.message || d.msg).join('; ') : body.detail;
    } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return r;
}

async function load() {
  $('error').textContent = '';
  $('heading').textContent = t('review.loading');
  try {
    const r = await api(params());
    last = await r.json();
    render(last);
  } catch (e) {
    if (e.message !== '401') $('error').textContent = t('review.error', { detail: e.message });
    $('heading').textContent = '';
  }
}

async function download(rows) {
  try {
    const r = await api(params({ format: 'csv', rows }));
    const blob = await r.blob();
    const name = (r.headers.get('content-disposition') || '').match(/filename="([^"]+)"/);
    const a = el('a', { href: URL.createObjectURL(blob), download: name ? name[1] : 'review.csv' });
    document.body.append(a); a.click(); a.remove();
  } catch (e) {
    if (e.message !== '401') $('error').textContent = t('review.error', { detail: e.message });
  }
}

function render(data) {
  const unitName = data.unit === 'state' ? t('review.unit.state') : `${t(`review.unit.${data.unit}`)} ${data.unit_id}`;
  const to = new Date(new Date(data.to).getTime() - 1000).toISOString();
  $('heading').textContent = t('review.heading', {
    unit: unitName, from: istDate(data.from), to: istDate(to) });
  const s = data.summary;
  const ack = s.breaches.acknowledged; const contact = s.breaches.contacted;
  const card = (label, value, cls = '') => el('div', { class: `card ${cls}` }, label, el('b', {}, value));
  $('cards').replaceChildren(
    card(t('review.alerts'), s.alerts),
    card(t('review.ack_median'), duration(s.intervals.acknowledged.median_s)),
    card(t('review.ack_p90'), duration(s.intervals.acknowledged.p90_s)),
    card(t('review.ack_breaches', { t: duration(ack.target_s) }), ack.total, ack.total ? 'bad' : ''),
    card(t('review.contact_breaches', { t: duration(contact.target_s) }), contact.total, contact.total ? 'bad' : ''),
    card(t('review.escalated'), s.escalated),
    card(t('review.lives_saved'), s.lives_saved, 'good'),
  );
  table('intervals', [t('review.interval'), t('review.count'), t('review.median'), t('review.p90')],
    INTERVALS.map((name) => {
      const i = s.intervals[name];
      return [t(`review.i.${name}`), i.count, duration(i.median_s), duration(i.p90_s)];
    }));
  $('method').textContent = t('review.method', { m: data.percentile_method });
  histogram(data.histogram_acknowledged, ack.target_s);
  trend(data.weekly);
  table('outcomes', [t('review.outcome'), t('review.count')],
    Object.entries(data.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => [t(`review.o.${k}`), n]));
  table('monthly', [t('review.month'), t('review.alerts'), t('review.median_ack'), t('review.p90_ack'),
    t('review.median_contact'), t('review.lives_saved')],
  data.monthly.map((m) => [m.key, m.alerts, duration(m.intervals.acknowledged.median_s),
    duration(m.intervals.acknowledged.p90_s), duration(m.intervals.contacted.median_s), m.lives_saved]));
  const lateCell = (v, target) => el('td', { class: v !== null && v > target ? 'late' : '' }, duration(v));
  table('league', [t(`review.unit.${data.league_by}`), t('review.alerts'), t('review.median_ack'),
    t('review.p90_ack'), t('review.median_contact'), t('review.breaches'), t('review.escalated'),
    t('review.lives_saved')],
  data.league.map((u) => [u.key, u.alerts, lateCell(u.intervals.acknowledged.median_s, ack.target_s),
    lateCell(u.intervals.acknowledged.p90_s, ack.target_s),
    lateCell(u.intervals.contacted.median_s, contact.target_s),
    `${u.breaches.acknowledged.total} / ${u.breaches.contacted.total}`, u.escalated, u.lives_saved]));
  table('slowest', [t('review.id'), t('review.received'), t('review.station'),
    ...INTERVALS.slice(1).map((n) => t(`review.i.${n}`)), t('review.outcome')],
  data.slowest.map((a) => [
    el('td', {}, el('a', { href: a.link }, `#${a.id}`)), istDate(a.received_at),
    a.station_name || a.station_id || '–', ...INTERVALS.slice(1).map((n) => duration(a.intervals_s[n])),
    a.outcome ? t(`review.o.${a.outcome}`) : '–']));
  if (!s.alerts) $('heading').textContent += ` — ${t('review.none')}`;
}

function histogram(bins, target) {
  const W = 520; const H = 220; const L = 40; const B = 40; const T = 10;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const w = (W - L - 10) / bins.length;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('review.histogram') });
  chart.append(svg('line', { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: '#999' }));
  bins.forEach((b, i) => {
    const h = ((H - B - T) * b.count) / max;
    const x = L + i * w;
    const late = b.lo_s >= target;
    const rect = svg('rect', { x: x + 2, y: H - B - h, width: w - 4, height: h, fill: late ? '#b3261e' : '#1f5fa8' });
    rect.append(svg('title', {}, `${duration(b.lo_s)}–${b.hi_s === null ? '∞' : duration(b.hi_s)}: ${b.count}`));
    chart.append(rect);
    chart.append(svg('text', { x: x + w / 2, y: H - B + 14, 'text-anchor': 'middle' }, duration(b.lo_s)));
    if (b.count) chart.append(svg('text', { x: x + w / 2, y: H - B - h - 3, 'text-anchor': 'middle' }, b.count));
  });
  chart.append(svg('text', { x: L, y: H - 6 }, `${t('review.i.acknowledged')} →`));
  $('histogram').replaceChildren(chart);
}

function trend(weeks) {
  const W = 520; const H = 220; const L = 50; const B = 40; const T = 10; const R = 10;
  const series = [
    ['acknowledged', 'median_s', '#1f5fa8', `${t('review.median')} · ${t('review.i.acknowledged')}`],
    ['acknowledged', 'p90_s', '#7aa7de', `${t('review.p90')} · ${t('review.i.acknowledged')}`],
    ['contacted', 'median_s', '#c76b00', `${t('review.median')} · ${t('review.i.contacted')}`],
  ];
  const values = weeks.flatMap((w) => series.map(([i, k]) => w.intervals[i][k])).filter((v) => v !== null);
  const max = Math.max(60, ...values);
  const x = (i) => L + (weeks.length < 2 ? (W - L - R) / 2 : ((W - L - R) * i) / (weeks.length - 1));
  const y = (v) => H - B - ((H - B - T) * v) / max;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('review.trend') });
  for (const frac of [0, 0.5, 1]) {
    chart.append(svg('line', { x1: L, x2: W - R, y1: y(max * frac), y2: y(max * frac), stroke: '#e3e6ec' }));
    chart.append(svg('text', { x: L - 4, y: y(max * frac) + 4, 'text-anchor': 'end' }, duration(max * frac)));
  }
  for (const [interval, key, colour, label] of series) {
    const points = weeks.map((w, i) => [x(i), w.intervals[interval][key]]).filter(([, v]) => v !== null);
    if (points.length > 1) {
      chart.append(svg('polyline', { points: points.map(([px, v]) => `${px},${y(v)}`).join(' '),
        fill: 'none', stroke: colour, 'stroke-width': 2 }));
    }
    for (const [px, v] of points) {
      const dot = svg('circle', { cx: px, cy: y(v), r: 3, fill: colour });
      dot.append(svg('title', {}, `${label}: ${duration(v)}`));
      chart.append(dot);
    }
  }
  const step = Math.max(1, Math.ceil(weeks.length / 8));
  weeks.forEach((w, i) => {
    if (i % step === 0) chart.append(svg('text', { x: x(i), y: H - B + 14, 'text-anchor': 'middle' }, w.key.slice(5)));
  });
  const legend = el('p', { class: 'legend' }, ...series.map(([, , colour, label]) => {
    const key = el('i'); key.style.background = colour; return el('span', {}, key, label);
  }));
  $('trend').replaceChildren(chart, legend);
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  $('review').hidden = true; $('logout').hidden = true;
  $('login').hidden = false; $('login-error').textContent = message;
}

function signedIn() {
  $('login').hidden = true; $('review').hidden = false; $('logout').hidden = false;
  load();
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const r = await fetch('/api/v1/auth/token', { method: 'POST', body: new URLSearchParams(new FormData(event.target)) });
  if (!r.ok) {
    $('login-error').textContent = t('review.error', { detail: (await r.json().catch(() => ({}))).detail || r.status });
    return;
  }
  const body = await r.json();
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(body.user));
  signedIn();
});
$('filters').addEventListener('submit', (event) => { event.preventDefault(); load(); });
$('csv-units').addEventListener('click', () => download('units'));
$('csv-alerts').addEventListener('click', () => download('alerts'));
$('logout').addEventListener('click', () => signOut());
$('lang').addEventListener('click', () => {
  setLang(lang() === 'hi' ? 'en' : 'hi');
  applyStatic(document);
  if (last) render(last);
});

// Default period: the last 30 days, India time.
const today = new Date(Date.now() + 5.5 * 3600 * 1000);
const monthAgo = new Date(today.getTime() - 29 * 86400 * 1000);
$('filters').elements.to.value = today.toISOString().slice(0, 10);
$('filters').elements.from.value = monthAgo.toISOString().slice(0, 10);
document.documentElement.lang = lang();
applyStatic(document);
if (token()) signedIn(); else signOut();
