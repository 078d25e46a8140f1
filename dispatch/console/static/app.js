// The console shell: login, the live list of open alerts, the alarm, the hash router, and
// window.Dispatch for extensions (static/ext/*.js run after this module, before start-up):
//   Dispatch.api(path, {method, json, form, query}) -> Promise of the JSON answer (bearer added)
//   Dispatch.on(type, fn)        live events by type ('alert.created', ... or '*'), plus
//                                'ready' (signed in), 'hello', 'connection', 'language'
//   Dispatch.t(key, params)      the current language; Dispatch.i18n.add(lang, {key: text})
//   Dispatch.route(name, render) #/name/arg... renders render(container, [arg...], ctx)
//   Dispatch.navAdd(label, hash, {when}) a link in the header (label is an i18n key or plain
//                                text); when(user) -> false hides it for that user
//   Dispatch.alarm.set(on, name) ring (or stop) the alarm for an extension's own reason
import { Alarm } from './alarm.js';
import { api, clearSession, saveSession, savedUser, setUnauthorizedHandler, token } from './api.js';
import { renderDetail, updateDetail } from './detail.js';
import { categoryLabel, fill, fmtTime, h, setStationNames, statusLabel, whereText } from './dom.js';
import * as i18n from './i18n.js';
import { LiveClient } from './live.js';
import { renderIntake, renderQueue, refreshQueue } from './ops.js';

const { t } = i18n;
const OPS_ROLES = ['operator', 'admin', 'supervisor'];
const $ = (id) => document.getElementById(id);

// ---------- state ----------

export const store = {
  user: null,
  alerts: new Map(), // id -> summary, open alerts in the user's scope
  loaded: false, // the initial list has been fetched
  pending: [], // live events received before the initial list arrived
  conn: 'offline',
  config: null,
  jurisdictions: null,
  stations: null,
};

const alarm = new Alarm();
const listeners = new Map(); // event type ('*' for all) -> [fn]
const routes = new Map(); // name -> render(container, args, ctx)
const extraNav = []; // [{label, hash, when}]
let live = null;
let loading = false;
let current = { name: null, args: [] };

function emit(type, msg) {
  for (const key of [type, '*']) {
    for (const fn of listeners.get(key) || []) {
      try { fn(msg); } catch (err) { console.error('console listener failed', err); }
    }
  }
}

// ---------- window.Dispatch ----------

function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, []);
  listeners.get(type).push(fn);
  return () => listeners.set(type, listeners.get(type).filter((f) => f !== fn));
}

function route(name, render) {
  routes.set(name, render);
  if (store.user && current.name === name) renderView();
}

function navAdd(label, hash, { when } = {}) {
  // Once per link: an extension that adds it on every sign-in does not get it twice.
  if (extraNav.some((n) => n.hash === hash)) return;
  extraNav.push({ label, hash, when });
  if (store.user) renderNav();
}

window.Dispatch = {
  api, on, t, route, navAdd,
  i18n: { add: i18n.add, t, lang: i18n.lang },
  go, store, alarm,
  get user() { return store.user; },
  get live() { return live; },
};

export function isOps() { return !!store.user && OPS_ROLES.includes(store.user.role); }

export function go(hash) {
  if (location.hash === hash) renderView();
  else location.hash = hash;
}

// ---------- the alert list ----------

export function upsert(summary) {
  if (!summary || typeof summary.id !== 'number') return;
  if (summary.status === 'closed') store.alerts.delete(summary.id);
  else store.alerts.set(summary.id, summary);
}

function sorted() {
  return [...store.alerts.values()].sort((a, b) => b.id - a.id);
}

function unacknowledged() {
  return sorted().filter((a) => a.status === 'new' && !a.acknowledged_at);
}

function renderList() {
  const pane = $('list');
  if (!pane) return;
  const alerts = sorted();
  const items = alerts.map((a) => {
    const waiting = a.status === 'new' && !a.acknowledged_at;
    return h('li', {
      class: `alert-row${waiting ? ' flash' : ''}${current.args[0] === String(a.id) ? ' current' : ''}`,
      dataset: { id: a.id, status: a.status },
    }, h('a', { href: `#/alerts/${a.id}` },
      h('span', { class: 'row-top' },
        h('strong', {}, `#${a.id} `, categoryLabel(a.category)),
        h('span', { class: `badge status-${a.status}` }, statusLabel(a.status))),
      h('span', { class: 'row-mid' }, whereText(a), a.subject_label ? ` · ${a.subject_label}` : ''),
      h('span', { class: 'row-bottom muted small' }, fmtTime(a.received_at),
        a.location && a.location.address ? ` · ${a.location.address}` : '',
        a.escalation_level ? ` · ${t('level', { n: a.escalation_level })}` : '')));
  });
  fill(pane,
    h('h2', {}, t('list.title'), ' ', h('span', { class: 'count' }, `(${alerts.length})`)),
    items.length ? h('ul', { class: 'alerts' }, items) : h('p', { class: 'muted empty' }, t('list.empty')),
  );
  updateAlarm();
}

function updateAlarm() {
  const waiting = unacknowledged();
  const banner = $('alarm');
  const active = waiting.length > 0;
  alarm.set(active);
  document.body.dataset.alarm = active ? 'on' : 'off';
  banner.hidden = !active;
  if (active) {
    fill(banner,
      h('a', { href: `#/alerts/${waiting[0].id}` }, t('alarm.banner', { n: waiting.length })));
  }
  document.title = (active ? `(${waiting.length}) ⚠ ` : '') + t('app.title');
  renderSound();
}

function renderSound() {
  const button = $('sound');
  button.hidden = !store.user;
  button.textContent = alarm.enabled ? t('sound.on') : t('sound.enable');
  button.classList.toggle('off', !alarm.enabled);
}

async function loadList() {
  const list = await api('/api/v1/alerts', { query: { open: 'true', limit: 500 } });
  store.alerts.clear();
  for (const a of list) upsert(a);
  store.loaded = true;
  const pending = store.pending;
  store.pending = [];
  for (const msg of pending) apply(msg);
  renderList();
  document.body.dataset.loaded = 'true';
}

// ---------- live events ----------

function apply(msg) {
  if (msg.alert) upsert(msg.alert);
  emit(msg.type, msg);
  if (current.name === 'alerts' && current.args[0] && Number(current.args[0]) === msg.alert_id) {
    updateDetail(msg, ctx());
  }
  if (current.name === 'queue') refreshQueue(ctx());
}

function onEvent(msg) {
  if (!store.loaded) { store.pending.push(msg); return; }
  apply(msg);
  renderList();
}

function setConn(state) {
  store.conn = navigator.onLine === false ? 'offline' : state;
  const el = $('conn');
  el.dataset.state = store.conn;
  el.textContent = t(`conn.${store.conn}`);
  emit('connection', { type: 'connection', state: store.conn });
}

function startLive() {
  if (live) live.stop();
  live = new LiveClient({
    token: token(),
    onEvent,
    onState: setConn,
    onHello: (hello) => {
      emit('hello', hello);
      // The first hello fixes the cursor; the list is read after it, so nothing falls between.
      if (!store.loaded && !loading) {
        loading = true;
        loadList().catch((err) => console.error(err)).finally(() => { loading = false; });
      }
    },
    onAuthLost: () => logout({ ended: true }),
  });
  live.connect();
}

// ---------- routing ----------

function ctx() {
  return { store, api, t, go, upsert, renderList, isOps: isOps(), jurisdictions, stations };
}

export async function jurisdictions() {
  if (!store.jurisdictions) store.jurisdictions = await api('/api/v1/jurisdictions');
  return store.jurisdictions;
}

export async function stations() {
  if (!store.stations) {
    const list = await api('/api/v1/stations');
    list.sort((a, b) => (a.district + a.name).localeCompare(b.district + b.name));
    store.stations = list;
    setStationNames(list);
  }
  return store.stations;
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || 'alerts', args: parts.slice(1) };
}

function renderView() {
  if (!store.user) return;
  current = parseHash();
  const view = $('view');
  const render = routes.get(current.name);
  document.body.dataset.route = current.name === 'alerts' && !current.args.length ? 'list' : current.name;
  fill(view);
  if (!render) {
    view.append(h('p', { class: 'muted' }, t('detail.none')));
  } else {
    try {
      const out = render(view, current.args, ctx());
      if (out && typeof out.catch === 'function') out.catch((err) => console.error(err));
    } catch (err) {
      console.error(err);
    }
  }
  renderNav();
  renderList();
}

function renderNav() {
  const links = [{ label: 'nav.alerts', hash: '#/alerts' }];
  if (isOps()) links.push({ label: 'nav.queue', hash: '#/queue' }, { label: 'nav.intake', hash: '#/intake' });
  links.push(...extraNav.filter((n) => !n.when || n.when(store.user)));
  fill($('nav'), ...links.map(({ label, hash }) => {
    const name = hash.replace(/^#\/?/, '').split('/')[0];
    return h('a', { href: hash, class: name === current.name ? 'active' : '', dataset: { route: name } }, t(label));
  }));
}

route('alerts', (view, args, c) => {
  if (!args.length) {
    view.append(h('p', { class: 'muted placeholder' }, t('detail.none')));
    return null;
  }
  return renderDetail(view, Number(args[0]), c);
});
route('queue', (view, _args, c) => (isOps() ? renderQueue(view, c) : view.append(t('detail.none'))));
route('intake', (view, _args, c) => (isOps() ? renderIntake(view, c) : view.append(t('detail.none'))));

// ---------- language, login, start-up ----------

function renderLang() {
  i18n.applyStatic(document);
  document.documentElement.lang = i18n.lang();
  $('lang').textContent = t('lang.other');
  $('logout').textContent = t('logout');
  setConn(store.conn);
}

function toggleLang() {
  i18n.setLang(i18n.lang() === 'hi' ? 'en' : 'hi');
  renderLang();
  emit('language', { type: 'language', lang: i18n.lang() });
  if (store.user) renderView();
  renderDrill();
}

function renderDrill() {
  const banner = $('drill');
  const speed = store.config && store.config.drill_speed;
  banner.hidden = !store.user || !speed || speed === 1;
  if (!banner.hidden) banner.textContent = t('drill', { n: speed });
}

function showShell(signedIn) {
  $('login').hidden = signedIn;
  $('main').hidden = !signedIn;
  $('logout').hidden = !signedIn;
  $('sound').hidden = !signedIn;
  $('nav').hidden = !signedIn;
  $('conn').hidden = !signedIn;
  $('who').textContent = signedIn && store.user
    ? `${store.user.full_name || store.user.username}${store.user.unit ? ` · ${store.user.unit}` : ''}`
    : '';
}

async function start(user) {
  store.user = user;
  store.alerts.clear();
  store.loaded = false;
  store.pending = [];
  showShell(true);
  fill($('main'), h('aside', { id: 'list', class: 'list-pane' }), h('section', { id: 'view', class: 'view-pane' }));
  renderView();
  emit('ready', { type: 'ready', user }); // signed in: extensions may call the API now
  startLive();
  stations().then(() => renderList()).catch(() => {}); // Hindi station names
  try {
    store.config = await api('/api/v1/console/config');
  } catch (err) {
    console.error(err);
  }
  renderDrill();
}

// Sign out; `ended`: the server ended the session (token expired, account deactivated or
// changed), which the sign-in page then says.
export function logout({ ended = false } = {}) {
  if (live) { live.stop(); live = null; }
  clearSession();
  store.user = null;
  store.alerts.clear();
  store.loaded = false;
  document.body.dataset.loaded = 'false';
  store.config = null;
  alarm.stopAll();
  document.body.dataset.alarm = 'off';
  $('alarm').hidden = true;
  setConn('offline');
  renderDrill();
  fill($('main'));
  showShell(false);
  document.title = t('app.title');
  $('login-error').textContent = ended ? t('login.ended') : '';
  emit('signed_out', { type: 'signed_out' });
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const error = $('login-error');
  error.textContent = '';
  const submit = $('login-submit');
  submit.disabled = true;
  try {
    const res = await api('/api/v1/auth/token', {
      anonymous: true,
      form: { username: form.username.value.trim(), password: form.password.value },
    });
    saveSession(res.access_token, res.user);
    form.password.value = '';
    if (!localStorage.getItem('dispatch.lang') && res.user.language) {
      i18n.setLang(res.user.language);
      renderLang();
    }
    // Audio may start only after a user gesture: signing in is one.
    alarm.enable().catch(() => {}).finally(renderSound);
    await start(res.user);
  } catch (err) {
    error.textContent = t('login.failed', { detail: err.message });
  } finally {
    submit.disabled = false;
  }
}

async function boot() {
  renderLang();
  $('lang').addEventListener('click', toggleLang);
  $('logout').addEventListener('click', () => logout());
  $('sound').addEventListener('click', () => alarm.enable().catch(() => {}).finally(renderSound));
  $('login-form').addEventListener('submit', login);
  window.addEventListener('hashchange', renderView);
  window.addEventListener('offline', () => setConn('offline'));
  window.addEventListener('online', () => {
    if (live) live.reconnectNow();
    else setConn('offline');
  });
  setUnauthorizedHandler(() => { if (store.user) logout({ ended: true }); });
  const saved = savedUser();
  if (token() && saved) {
    try {
      const me = await api('/api/v1/auth/me');
      await start(me);
      return;
    } catch {
      clearSession();
    }
  }
  showShell(false);
}

// Extensions are module scripts after this one: start once they have all run.
if (document.readyState !== 'complete') document.addEventListener('DOMContentLoaded', boot);
else boot();
