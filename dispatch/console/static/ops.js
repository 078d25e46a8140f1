// State-cell pages: manual intake (#/intake) and the unresolved queue (#/queue).
import { categoryLabel, fill, errorText, fmtTime, h, statusLabel } from './dom.js';

const CATEGORIES = ['suicide_risk', 'self_harm', 'threat_to_others', 'other'];

function stationOptions(list, t, placeholder) {
  const byDistrict = new Map();
  for (const s of list) {
    if (!byDistrict.has(s.district)) byDistrict.set(s.district, []);
    byDistrict.get(s.district).push(s);
  }
  return [
    h('option', { value: '' }, placeholder || t('queue.choose')),
    ...[...byDistrict.entries()].map(([district, stations]) => h('optgroup', { label: district },
      stations.map((s) => h('option', { value: s.id },
        document.documentElement.lang === 'hi' && s.name_hi ? s.name_hi : s.name)))),
  ];
}

// ---------- the unresolved queue ----------

let queueBox = null;
let queueTimer = null;

export async function renderQueue(view, ctx) {
  const { t } = ctx;
  queueBox = h('div', { id: 'queue', class: 'queue' }, h('p', { class: 'muted' }, '…'));
  view.append(h('section', { class: 'card' }, h('h2', {}, t('queue.title')), queueBox));
  await loadQueue(ctx);
}

// Live events can add to or empty the queue; coalesce bursts into one read.
export function refreshQueue(ctx) {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(() => loadQueue(ctx).catch((err) => console.error(err)), 150);
}

async function loadQueue(ctx) {
  const { t, api } = ctx;
  const box = queueBox;
  if (!box || !box.isConnected) return;
  // Keep what an operator is typing in a row when the queue refreshes.
  const typing = new Map();
  for (const row of box.querySelectorAll('li[data-id]')) {
    typing.set(row.dataset.id, { station: row.querySelector('select').value, reason: row.querySelector('input').value });
  }
  let alerts;
  let list;
  try {
    [alerts, list] = await Promise.all([
      api('/api/v1/alerts', { query: { unresolved: 'true', open: 'true', limit: 500 } }),
      ctx.stations(),
    ]);
  } catch (err) {
    fill(box, h('p', { class: 'error' }, errorText(err)));
    return;
  }
  if (!box.isConnected) return;
  if (!alerts.length) {
    fill(box, h('p', { class: 'muted empty' }, t('queue.empty')));
    return;
  }
  fill(box, h('ul', { class: 'queue-list' }, alerts.map((a) => queueRow(a, list, typing.get(String(a.id)), ctx))));
}

function queueRow(a, list, typed, ctx) {
  const { t, api } = ctx;
  const select = h('select', { name: 'station_id', required: true, 'aria-label': t('station') }, stationOptions(list, t));
  const reason = h('input', { name: 'reason', maxlength: 2000, placeholder: t('queue.reason'), 'aria-label': t('queue.reason') });
  if (typed) { select.value = typed.station; reason.value = typed.reason; }
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'assign-form' },
    select, reason, h('button', { type: 'submit', class: 'primary' }, t('queue.assign')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!select.value) return;
    const button = form.querySelector('button');
    button.disabled = true;
    error.textContent = '';
    try {
      const summary = await api(`/api/v1/alerts/${a.id}/assign`, {
        method: 'POST', json: { station_id: select.value, reason: reason.value.trim() || null },
      });
      ctx.upsert(summary);
      ctx.renderList();
      await loadQueue(ctx);
    } catch (err) {
      error.textContent = errorText(err);
      button.disabled = false;
    }
  });
  const loc = a.location;
  return h('li', { class: 'queue-row card', dataset: { id: a.id } },
    h('a', { href: `#/alerts/${a.id}` }, h('strong', {}, `#${a.id} ${categoryLabel(a.category)}`), ' ',
      h('span', { class: `badge status-${a.status}` }, statusLabel(a.status))),
    h('p', { class: 'muted small' }, fmtTime(a.received_at), a.subject_label ? ` · ${a.subject_label}` : '',
      loc && loc.address ? ` · ${loc.address}` : '',
      loc && typeof loc.lat === 'number' ? ` · ${loc.lat.toFixed(4)}, ${loc.lon.toFixed(4)}` : ''),
    form, error);
}

// ---------- manual intake ----------

function input(label, attrs) {
  return h('label', {}, h('span', {}, label), h('input', attrs));
}

export async function renderIntake(view, ctx) {
  const { t, api } = ctx;
  const result = h('div', { id: 'intake-result', role: 'status' });
  const stationSelect = h('select', { name: 'station_id' }, h('option', { value: '' }, '—'));
  const form = h('form', { id: 'intake-form', class: 'intake-form' },
    h('label', {}, h('span', {}, t('intake.category')),
      h('select', { name: 'category', required: true }, CATEGORIES.map((c) => h('option', { value: c }, categoryLabel(c))))),
    input(t('intake.reported_by'), { name: 'reported_by', required: true, maxlength: 300 }),
    input(t('intake.name'), { name: 'name', maxlength: 300 }),
    input(t('intake.phone'), { name: 'phone', type: 'tel', maxlength: 40 }),
    h('label', {}, h('span', {}, t('intake.text')), h('textarea', { name: 'text', rows: 3, maxlength: 20000 })),
    h('div', { class: 'row3' },
      input(t('intake.lat'), { name: 'lat', type: 'number', step: 'any', min: -90, max: 90, inputmode: 'decimal' }),
      input(t('intake.lon'), { name: 'lon', type: 'number', step: 'any', min: -180, max: 180, inputmode: 'decimal' }),
      input(t('intake.accuracy'), { name: 'accuracy_m', type: 'number', step: 'any', min: 0, inputmode: 'numeric' })),
    input(t('intake.address'), { name: 'address', maxlength: 2000 }),
    h('label', {}, h('span', {}, t('intake.station')), stationSelect),
    h('label', {}, h('span', {}, t('intake.notes')), h('textarea', { name: 'notes', rows: 2, maxlength: 5000 })),
    h('button', { type: 'submit', class: 'primary big' }, t('intake.submit')));
  view.append(h('section', { class: 'card' }, h('h2', {}, t('intake.title')), form, result));
  ctx.stations().then((list) => fill(stationSelect, ...stationOptions(list, t, '—'))).catch(() => {});

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const value = (name) => f[name].value.trim();
    const body = { category: value('category'), reported_by: value('reported_by') };
    const subject = {};
    if (value('name')) subject.name = value('name');
    if (value('phone')) subject.phones = [value('phone')];
    if (Object.keys(subject).length) body.subject = subject;
    if (value('text')) body.content = { text: value('text'), kind: 'manual' };
    const location = {};
    if (value('lat') !== '' && value('lon') !== '') {
      location.lat = Number(value('lat'));
      location.lon = Number(value('lon'));
    }
    if (value('accuracy_m') !== '' && location.lat !== undefined) location.accuracy_m = Number(value('accuracy_m'));
    if (value('address')) location.address = value('address');
    if (Object.keys(location).length) body.location = location;
    if (value('station_id')) body.station_id = value('station_id');
    if (value('notes')) body.notes = value('notes');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    fill(result);
    try {
      const out = await api('/api/v1/alerts/manual', { method: 'POST', json: body });
      const where = out.station ? out.station.name : t('unresolved');
      fill(result, h('p', { class: 'ok' },
        h('a', { href: `#/alerts/${out.id}` }, t('intake.done', { id: out.id, where }))));
      form.reset();
    } catch (err) {
      fill(result, h('p', { class: 'error', role: 'alert' }, errorText(err)));
    } finally {
      button.disabled = false;
    }
  });
}
