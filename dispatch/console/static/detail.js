// The alert detail page (#/alerts/<id>): person, content, map, timeline, actions, notes.
// Reading it shows personal data, which the server records as an audit event; live updates
// are merged locally so watching an alert does not re-read (and re-audit) it on every event.
import { categoryLabel, codeLabel, fill, errorText, eventText, fmtTime, h, statusLabel, whereText } from './dom.js';
import { drawMap } from './map.js';

const LIFECYCLE = ['acknowledged', 'dispatched', 'en_route', 'on_scene', 'person_found'];
const SUMMARY_KEYS = [
  'category', 'status', 'source', 'received_at', 'acknowledged_at', 'acknowledged_by', 'station',
  'location', 'subject_label', 'resolution_method', 'escalation_level', 'updated_at',
];

let active = null; // {id, detail, els, dispatchOpen}
let refetchTimer = null;

export async function renderDetail(view, id, ctx) {
  const { t, api } = ctx;
  active = null;
  const root = h('section', { id: 'detail', class: 'detail', dataset: { id, status: 'loading' } },
    h('p', { class: 'muted' }, '…'));
  view.append(root);
  let detail;
  try {
    detail = await api(`/api/v1/alerts/${id}`);
  } catch (err) {
    fill(root, h('p', { class: 'error' }, errorText(err)), h('a', { href: '#/alerts' }, t('nav.alerts')));
    root.dataset.status = 'error';
    return;
  }
  if (!root.isConnected) return; // the user moved on while it loaded
  ctx.upsert(pick(detail));
  const els = {
    head: h('div', { class: 'detail-head' }),
    actions: h('div', { id: 'actions', class: 'actions card' }),
    person: h('div', { class: 'card person' }),
    content: h('div', { class: 'card content' }),
    map: h('div', { id: 'map', class: 'map-box' }),
    timeline: h('ol', { id: 'timeline', class: 'timeline' }),
    notes: noteForm(id, ctx),
    linked: h('div', { class: 'linked' }),
  };
  active = { id, detail, els, root, dispatchOpen: false };
  fill(root,
    els.head,
    els.actions,
    h('div', { class: 'detail-grid' },
      h('div', { class: 'col' }, els.person, els.content, els.linked),
      h('div', { class: 'col' },
        h('div', { class: 'card' }, h('h3', {}, t('map')), els.map),
        h('div', { class: 'card' }, h('h3', {}, t('timeline')), els.timeline, els.notes))),
  );
  renderAll(ctx);
}

function pick(detail) {
  const out = { id: detail.id };
  for (const k of SUMMARY_KEYS) out[k] = detail[k];
  return out;
}

function renderAll(ctx) {
  renderHead(ctx);
  renderActions(ctx);
  renderPerson(ctx);
  renderContent(ctx);
  renderMap(ctx);
  renderTimeline(ctx);
  renderLinked(ctx);
}

function renderHead({ t }) {
  const d = active.detail;
  active.root.dataset.status = d.status;
  const loc = d.location;
  fill(active.els.head,
    h('a', { href: '#/alerts', class: 'back' }, '← ', t('nav.alerts')),
    h('h2', {}, `#${d.id} `, categoryLabel(d.category), ' ',
      h('span', { id: 'detail-status', class: `badge status-${d.status}` }, statusLabel(d.status))),
    h('p', { class: 'meta' },
      h('span', {}, `${t('station')}: `, h('strong', { id: 'detail-station' }, whereText(d))),
      h('span', {}, `${t('received')}: ${fmtTime(d.received_at)}`),
      d.detected_at ? h('span', {}, `${t('detected')}: ${fmtTime(d.detected_at)}`) : null,
      d.escalation_level ? h('span', { class: 'level' }, t('level', { n: d.escalation_level })) : null,
      d.acknowledged_at
        ? h('span', { id: 'acked', class: 'acked' }, t('acked_by', { who: actor(d.acknowledged_by) }),
          ` · ${fmtTime(d.acknowledged_at)}`)
        : null),
    loc ? h('p', { class: 'meta' },
      loc.address ? h('span', {}, `${t('address')}: ${loc.address}`) : null,
      typeof loc.lat === 'number'
        ? h('span', {}, `${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)}`,
          loc.accuracy_m != null ? ` (${t('accuracy', { m: Math.round(loc.accuracy_m) })})` : '',
          loc.source ? ` · ${codeLabel('loc', loc.source)}` : '')
        : null) : null,
  );
}

function actor(value) {
  if (!value) return '—';
  const i = value.indexOf(':');
  return i >= 0 ? value.slice(i + 1) : value;
}

async function act(ctx, path, body, button) {
  const { api } = ctx;
  const id = active.id;
  if (button) button.disabled = true;
  try {
    const summary = await api(`/api/v1/alerts/${id}/${path}`, { method: 'POST', json: body || {} });
    ctx.upsert(summary);
    if (active && active.id === id) {
      Object.assign(active.detail, summary);
      active.dispatchOpen = false;
      renderHead(ctx);
      renderActions(ctx);
    }
    ctx.renderList();
    return true;
  } catch (err) {
    if (active && active.id === id) {
      active.els.actions.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    }
    return false;
  } finally {
    if (button) button.disabled = false;
  }
}

function renderActions(ctx) {
  const { t } = ctx;
  const d = active.detail;
  const box = active.els.actions;
  const children = [h('h3', {}, t('actions'))];
  if (d.status === 'closed') {
    children.push(h('p', { class: 'muted' }, statusLabel('closed')));
    fill(box, ...children);
    return;
  }
  if (!d.acknowledged_at) {
    children.push(h('button', {
      id: 'ack', type: 'button', class: 'primary big',
      onclick: (e) => act(ctx, 'ack', {}, e.currentTarget),
    }, t('ack')));
  }
  const at = LIFECYCLE.indexOf(d.status);
  const buttons = LIFECYCLE.slice(1).map((s) => {
    const allowed = d.status !== 'new' && LIFECYCLE.indexOf(s) > at;
    return h('button', {
      type: 'button', class: 'status-btn', dataset: { status: s }, disabled: !allowed,
      onclick: (e) => {
        if (s === 'dispatched') { active.dispatchOpen = true; renderActions(ctx); return; }
        act(ctx, 'status', { status: s }, e.currentTarget);
      },
    }, t('move_to', { s: statusLabel(s) }));
  });
  children.push(h('div', { class: 'buttons' }, buttons));
  if (active.dispatchOpen) children.push(dispatchForm(ctx));
  if (d.team || d.vehicle) {
    children.push(h('p', { class: 'muted' }, [d.team && `${t('team')}: ${d.team}`, d.vehicle && `${t('vehicle')}: ${d.vehicle}`].filter(Boolean).join(' · ')));
  }
  fill(box, ...children);
}

function dispatchForm(ctx) {
  const { t } = ctx;
  const form = h('form', { id: 'dispatch-form', class: 'inline-form' },
    h('p', {}, t('dispatch.ask')),
    h('label', {}, h('span', {}, t('team')), h('input', { name: 'team', required: true, maxlength: 200 })),
    h('label', {}, h('span', {}, t('vehicle')), h('input', { name: 'vehicle', maxlength: 200 })),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, t('confirm')),
      h('button', { type: 'button', onclick: () => { active.dispatchOpen = false; renderActions(ctx); } }, t('cancel'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const team = form.team.value.trim();
    if (!team) return;
    act(ctx, 'status', { status: 'dispatched', team, vehicle: form.vehicle.value.trim() || null },
      form.querySelector('button[type=submit]'));
  });
  return form;
}

function field(label, value) {
  if (value === undefined || value === null || value === '' || (Array.isArray(value) && !value.length)) return null;
  const shown = Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return [h('dt', {}, label), h('dd', {}, shown)];
}

function renderPerson({ t }) {
  const s = active.detail.subject || {};
  const known = ['name', 'handle', 'profile_url', 'phones', 'emails'];
  const rows = [
    field(t('name'), s.name), field(t('handle'), s.handle), field(t('profile'), s.profile_url),
    field(t('phones'), s.phones), field(t('emails'), s.emails),
    ...Object.keys(s).filter((k) => !known.includes(k)).map((k) => field(k, s[k])),
  ].filter(Boolean);
  fill(active.els.person, h('h3', {}, t('person')),
    rows.length ? h('dl', {}, rows) : h('p', { class: 'muted' }, active.detail.subject_label || '—'));
}

function renderContent({ t }) {
  const c = active.detail.content || {};
  const extra = active.detail.extra || {};
  const rows = [
    field(t('platform'), c.platform), field(t('kind'), codeLabel('kind', c.kind)), field(t('urls'), c.urls),
    field(t('intake.reported_by'), extra.reported_by), field(t('intake.notes'), extra.notes),
  ].filter(Boolean);
  const updates = (c.updates || []).map((u) => h('li', {}, h('span', { class: 'muted small' }, fmtTime(u.at), ' '),
    [u.platform, codeLabel('kind', u.kind)].filter(Boolean).join(' · '), u.text ? h('blockquote', {}, u.text) : null));
  fill(active.els.content, h('h3', {}, t('content')),
    c.text ? h('blockquote', { class: 'post' }, c.text) : null,
    rows.length ? h('dl', {}, rows) : null,
    updates.length ? [h('h4', {}, t('updates')), h('ul', { class: 'updates' }, updates)] : null);
}

function renderMap(ctx) {
  const { t } = ctx;
  const id = active.id;
  ctx.jurisdictions().then((collection) => {
    if (active && active.id === id) drawMap(active.els.map, active.detail, collection, t);
  }).catch((err) => { fill(active.els.map, h('p', { class: 'error' }, errorText(err))); });
}

function renderTimeline() {
  const events = [...(active.detail.events || [])].sort((a, b) => b.id - a.id);
  fill(active.els.timeline, ...events.map((ev) => h('li', { dataset: { type: ev.type, id: ev.id } },
    h('time', { datetime: ev.at }, fmtTime(ev.at)), ' ', h('span', {}, eventText(ev)))));
}

function renderLinked({ t }) {
  const linked = active.detail.linked_alerts || [];
  fill(active.els.linked, ...(linked.length ? [h('div', { class: 'card' }, h('h3', {}, t('linked')),
    h('ul', {}, linked.map((a) => h('li', {}, h('a', { href: `#/alerts/${a.id}` },
      `#${a.id} ${categoryLabel(a.category)} · ${statusLabel(a.status)} · ${fmtTime(a.received_at)}`)))))] : []));
}

function noteForm(id, ctx) {
  const { t, api } = ctx;
  const form = h('form', { id: 'note-form', class: 'note-form' },
    h('label', {}, h('span', {}, t('add_note')), h('textarea', { name: 'text', rows: 2, maxlength: 5000, required: true })),
    h('button', { type: 'submit' }, t('send')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = form.text.value.trim();
    if (!text) return;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      ctx.upsert(await api(`/api/v1/alerts/${id}/notes`, { method: 'POST', json: { text } }));
      form.text.value = '';
    } catch (err) {
      form.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// A live event for the alert on screen: merge it instead of re-reading the alert.
export function updateDetail(msg, ctx) {
  if (!active || active.id !== msg.alert_id || !active.root.isConnected) return;
  const d = active.detail;
  const before = `${d.status}|${d.acknowledged_at}`;
  if (msg.alert) Object.assign(d, msg.alert);
  if (!(d.events || []).some((e) => e.id === msg.id)) {
    d.events = [...(d.events || []), { id: msg.id, alert_id: msg.alert_id, type: msg.type, at: msg.at, actor: msg.actor, data: msg.data || {} }];
  }
  if (msg.type === 'alert.status' && msg.data) {
    if (msg.data.team) d.team = msg.data.team;
    if (msg.data.vehicle) d.vehicle = msg.data.vehicle;
  }
  renderHead(ctx);
  if (`${d.status}|${d.acknowledged_at}` !== before) renderActions(ctx);
  renderTimeline();
  if (['alert.signal', 'alert.handover', 'alert.assigned'].includes(msg.type)) renderMap(ctx);
  if (msg.data && msg.data.content) {
    // New content is sealed on the server and not in the live event: read it once more.
    clearTimeout(refetchTimer);
    const id = active.id;
    refetchTimer = setTimeout(async () => {
      try {
        const fresh = await ctx.api(`/api/v1/alerts/${id}`);
        if (active && active.id === id) { active.detail.content = fresh.content; renderContent(ctx); }
      } catch (err) { console.error(err); }
    }, 300);
  }
}
