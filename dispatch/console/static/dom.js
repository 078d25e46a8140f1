// Small DOM and formatting helpers shared by the console's views.
import { lang, t } from './i18n.js';

// h('button', {class: 'x', onclick: fn, dataset: {id: 1}}, 'text', child, ...)
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// node.replaceChildren, skipping null/false (replaceChildren would print "null").
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Times are stored in UTC and shown in India Standard Time.
export function fmtTime(iso, withDate = true) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
  if (withDate) Object.assign(opts, { day: '2-digit', month: 'short' });
  try {
    return new Intl.DateTimeFormat(lang() === 'hi' ? 'hi-IN' : 'en-IN', opts).format(d);
  } catch {
    return d.toISOString();
  }
}

// 'user:sho_jsw' -> 'sho_jsw', 'partner:meta' -> 'meta'.
export function actorName(actor) {
  if (!actor) return '—';
  const i = actor.indexOf(':');
  return i >= 0 ? actor.slice(i + 1) : actor;
}

export function statusLabel(status) { return t(`status.${status}`); }

// A code the server stores ('contains', 'no-answer', 'found_safe_counselled') in the current
// language: the table's `${group}.${code}`, else the code with spaces, never the raw key.
export function codeLabel(group, code) {
  if (code === null || code === undefined || code === '') return '';
  const key = `${group}.${code}`;
  const text = t(key);
  return text === key ? String(code).replace(/[_-]+/g, ' ') : text;
}
export function categoryLabel(category) { return t(`cat.${category}`); }

function stationName(ref) {
  return stationLabel(ref);
}

// One timeline entry as a sentence in the current language.
export function eventText(ev) {
  const d = ev.data || {};
  const actor = actorName(ev.actor);
  switch (ev.type) {
    case 'alert.created': return t('ev.created', { actor, source: codeLabel('source', d.source) });
    case 'alert.resolved':
      return t('ev.resolved', { station: stationLabel({ id: d.station_id, name: d.station }), method: codeLabel('method', d.method) });
    case 'alert.unresolved': return t('ev.unresolved');
    case 'alert.signal': {
      const parts = [];
      const loc = d.location;
      if (loc && typeof loc.lat === 'number') {
        parts.push(t('ev.signal.location', {
          lat: loc.lat.toFixed(5), lon: loc.lon.toFixed(5), acc: Math.round(loc.accuracy_m || 0),
        }));
      }
      if (d.content) parts.push(t('ev.signal.content'));
      return t('ev.signal', { what: parts.join(', ') || '—' });
    }
    case 'alert.handover': return t('ev.handover', { from: stationName(d.from), to: stationName(d.to) });
    case 'alert.assigned': return t('ev.assigned', { to: stationName(d.to), actor });
    case 'alert.acknowledged': return t('ev.acknowledged', { actor });
    case 'alert.status': {
      let text = t('ev.status', { from: statusLabel(d.from), to: statusLabel(d.to), actor });
      const extra = [d.team, d.vehicle, d.note].filter(Boolean).join(' · ');
      if (extra) text += ` (${extra})`;
      return text;
    }
    case 'alert.note': return t('ev.note', { actor, text: d.text || '' });
    case 'alert.escalated': return t('ev.escalated', { level: d.level ?? '' });
    case 'alert.escalation_started': return t('ev.escalation_started');
    case 'alert.escalation_stopped': return t('ev.escalation_stopped');
    case 'alert.notification':
      return t('ev.notification', {
        to: d.to_masked || d.to || d.post || '', channel: codeLabel('channel', d.channel), status: codeLabel('delivery', d.status),
      });
    case 'alert.delivery':
      return t('ev.delivery', {
        to: d.to_masked || d.to || '', channel: codeLabel('channel', d.channel), status: codeLabel('delivery', d.status),
      });
    case 'alert.closed': return t('ev.closed', { actor, outcome: codeLabel('outcome', d.outcome) });
    case 'alert.reopened': return t('ev.reopened', { actor });
    case 'alert.updated': return t('ev.updated', { actor });
    case 'alert.duplicate': return t('ev.duplicate');
    default: return `${ev.type} (${actor})`;
  }
}

// Hindi station names come from /api/v1/stations once it is loaded (see setStationNames).
const hindiNames = new Map();
export function setStationNames(stations) {
  for (const s of stations || []) if (s.name_hi) hindiNames.set(s.id, s.name_hi);
}

export function stationLabel(ref) {
  if (!ref) return '—';
  if (lang() === 'hi' && ref.id && hindiNames.has(ref.id)) return hindiNames.get(ref.id);
  return ref.name || ref.station || ref.id || '—';
}

// Where an alert is: its station, or the state cell queue.
export function whereText(alert) {
  return alert.station ? stationLabel(alert.station) : t('unresolved');
}

export function errorText(err) {
  return t('error', { detail: (err && err.message) || String(err) });
}
