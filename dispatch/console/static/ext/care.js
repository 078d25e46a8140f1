// Care: close an alert with its outcome (alert page), reopen (supervisors), counselling given
// (log and list), the person's earlier history, and the "Follow-ups due" list. Uses
// window.Dispatch only; does nothing without it.
const D = window.Dispatch;
const OUTCOMES = ['attempt_interrupted', 'found_safe_counselled', 'hospitalised', 'not_traced',
  'false_alarm', 'transferred', 'deceased'];
const COUNSELLED_BY = ['police_officer', 'counsellor', 'tele_manas_14416', 'dmhp'];
const RECIPIENTS = ['person', 'family'];

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

// This extension's strings live in its own tables below (added with Dispatch.i18n.add), in
// English and Hindi; tr() falls back to the English table when the shell has no i18n.
const EN = {};
const tr = (key, params) => {
  const text = D && typeof D.t === 'function' ? D.t(key, params) : key;
  if (text !== key) return text;
  return String(EN[key] || key).replace(/\{(\w+)\}/g, (_, k) => (params && k in params ? params[k] : ''));
};
const when = (iso) => (iso ? new Date(iso).toLocaleString('en-IN', { timeZone: 'Asia/Kolkata' }) : '');
const problem = (err) => {
  const d = err && err.detail !== undefined ? err.detail : err;
  return Array.isArray(d) ? d.map((x) => x.message || x.msg).join('; ') : String(d && d.message ? d.message : d);
};

function strings() {
  const en = EN;
  Object.assign(en, {
    'care.nav': 'Follow-ups due', 'care.close': 'Close with outcome', 'care.outcome': 'Outcome',
    'care.transferred_to': 'Transferred to', 'care.contacted_at': 'Person contacted at',
    'care.attended_by': 'Attended by (names/ranks, comma-separated)', 'care.notes': 'Notes',
    'care.closed': 'Closed: {o}', 'care.reopen': 'Reopen', 'care.reason': 'Reason',
    'care.history': 'Earlier alerts about this person', 'care.none_due': 'No check-ins due.',
    'care.record': 'Record', 'care.contact_made': 'Contact made', 'care.state': "Person's state",
    'care.referral': 'Referral', 'care.overdue': 'overdue', 'care.due': 'Due {t}',
    'care.elsewhere': '{n} more in other areas (ask the state cell)',
    'care.counselling': 'Counselling', 'care.counsel_add': 'Log counselling',
    'care.counsel_to': 'Given to', 'care.counsel_by': 'By', 'care.counsel_name': 'Counsellor name',
    'care.counsel_at': 'When (blank: now)', 'care.counsel_none': 'No counselling logged yet.',
    'recipient.person': 'the person', 'recipient.family': 'the family',
    'by.police_officer': 'police officer', 'by.counsellor': 'counsellor',
    'by.tele_manas_14416': 'Tele-MANAS 14416 referral', 'by.dmhp': 'District Mental Health Programme',
  });
  for (const o of OUTCOMES) en[`outcome.${o}`] = o.replace(/_/g, ' ');
  if (!D || !D.i18n || typeof D.i18n.add !== 'function') return;
  D.i18n.add('en', en);
  D.i18n.add('hi', {
    'care.nav': 'लंबित फॉलो-अप', 'care.close': 'परिणाम सहित बंद करें', 'care.outcome': 'परिणाम',
    'care.reopen': 'फिर से खोलें', 'care.reason': 'कारण', 'care.history': 'इस व्यक्ति के पिछले अलर्ट',
    'care.none_due': 'कोई फॉलो-अप लंबित नहीं।', 'care.record': 'दर्ज करें',
    'care.contact_made': 'संपर्क हुआ', 'care.overdue': 'विलंबित',
    'care.transferred_to': 'किसे स्थानांतरित', 'care.contacted_at': 'व्यक्ति से संपर्क का समय',
    'care.attended_by': 'उपस्थित (नाम/पद, अल्पविराम से अलग)', 'care.notes': 'टिप्पणी',
    'care.closed': 'बंद: {o}', 'care.state': 'व्यक्ति की स्थिति', 'care.referral': 'रेफ़रल',
    'care.due': 'नियत {t}', 'care.elsewhere': 'अन्य क्षेत्रों में {n} और (राज्य प्रकोष्ठ से पूछें)',
    'outcome.attempt_interrupted': 'प्रयास रोका गया', 'outcome.found_safe_counselled': 'सुरक्षित मिला, परामर्श दिया',
    'outcome.hospitalised': 'अस्पताल में भर्ती', 'outcome.not_traced': 'पता नहीं चला',
    'outcome.false_alarm': 'झूठा अलार्म', 'outcome.transferred': 'स्थानांतरित', 'outcome.deceased': 'मृत',
    'care.counselling': 'परामर्श', 'care.counsel_add': 'परामर्श दर्ज करें',
    'care.counsel_to': 'किसे दिया', 'care.counsel_by': 'किसने', 'care.counsel_name': 'परामर्शदाता का नाम',
    'care.counsel_at': 'कब (खाली: अभी)', 'care.counsel_none': 'अभी तक कोई परामर्श दर्ज नहीं।',
    'recipient.person': 'व्यक्ति', 'recipient.family': 'परिवार',
    'by.police_officer': 'पुलिस अधिकारी', 'by.counsellor': 'परामर्शदाता',
    'by.tele_manas_14416': 'टेली-मानस 14416 रेफ़रल', 'by.dmhp': 'जिला मानसिक स्वास्थ्य कार्यक्रम',
  });
}

// A labelled form field.
const row = (label, input) => el('label', { class: 'field' }, tr(label), input);

function closeForm(id, onDone) {
  const msg = el('p', { class: 'error small' });
  const outcome = el('select', { name: 'outcome', required: true },
    el('option', { value: '' }, '—'), OUTCOMES.map((o) => el('option', { value: o }, tr(`outcome.${o}`))));
  const to = el('input', { name: 'transferred_to', maxlength: 300 });
  const contacted = el('input', { name: 'contacted_at', type: 'datetime-local' });
  const attended = el('input', { name: 'attended_by' });
  const notes = el('textarea', { name: 'notes', rows: 2 });
  const form = el('form', { class: 'care-close inline-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { outcome: outcome.value, notes: notes.value || null,
      attended_by: attended.value.split(',').map((s) => s.trim()).filter(Boolean) };
    if (to.value) body.transferred_to = to.value;
    if (contacted.value) body.contacted_at = new Date(contacted.value).toISOString();
    try { await D.api(`/api/v1/alerts/${id}/close`, { method: 'POST', json: body }); onDone(); }
    catch (err) { msg.textContent = problem(err); }
  } }, el('h3', {}, tr('care.close')), row('care.outcome', outcome), row('care.transferred_to', to),
  row('care.contacted_at', contacted), row('care.attended_by', attended), row('care.notes', notes),
  el('button', { type: 'submit', class: 'primary' }, tr('care.close')), msg);
  return form;
}

// Counselling given to the person or the family, on any alert in scope (open or closed: it
// often follows the rescue by days), with the entries logged so far.
async function counsellingSection(id) {
  const section = el('section', { class: 'care-counselling' }, el('h3', {}, tr('care.counselling')));
  const list = el('ul', { class: 'care-counselling-list' });
  const show = (entries) => {
    list.replaceChildren(...(entries.length ? entries.map((c) => el('li', { 'data-by': c.by },
      `${when(c.at)} · ${tr(`recipient.${c.recipient}`)} · ${tr(`by.${c.by}`)}`,
      c.counsellor_name ? ` (${c.counsellor_name})` : '',
      c.notes ? el('div', { class: 'muted small' }, c.notes) : null))
      : [el('li', { class: 'muted' }, tr('care.counsel_none'))]));
  };
  try { show(await D.api(`/api/v1/alerts/${id}/counselling`)); }
  catch (err) { list.replaceChildren(el('li', { class: 'error' }, problem(err))); }
  const msg = el('p', { class: 'error small' });
  const recipient = el('select', { name: 'recipient', required: true },
    RECIPIENTS.map((r) => el('option', { value: r }, tr(`recipient.${r}`))));
  const by = el('select', { name: 'by', required: true },
    COUNSELLED_BY.map((b) => el('option', { value: b }, tr(`by.${b}`))));
  const name = el('input', { name: 'counsellor_name', maxlength: 200 });
  const at = el('input', { name: 'at', type: 'datetime-local' });
  const notes = el('textarea', { name: 'notes', rows: 2, maxlength: 10000 });
  const form = el('form', { class: 'care-counsel inline-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { recipient: recipient.value, by: by.value, counsellor_name: name.value || null,
      notes: notes.value || null };
    if (at.value) body.at = new Date(at.value).toISOString();
    try {
      await D.api(`/api/v1/alerts/${id}/counselling`, { method: 'POST', json: body });
      msg.textContent = '';
      form.reset();
      show(await D.api(`/api/v1/alerts/${id}/counselling`));
    } catch (err) { msg.textContent = problem(err); }
  } }, row('care.counsel_to', recipient), row('care.counsel_by', by), row('care.counsel_name', name),
  row('care.counsel_at', at), row('care.notes', notes),
  el('button', { type: 'submit' }, tr('care.counsel_add')), msg);
  section.append(list, form);
  return section;
}

function reopenForm(id, onDone) {
  const msg = el('p', { class: 'error small' });
  const reason = el('input', { name: 'reason', required: true, maxlength: 5000 });
  return el('form', { class: 'care-reopen inline-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await D.api(`/api/v1/alerts/${id}/reopen`, { method: 'POST', json: { reason: reason.value } }); onDone(); }
    catch (err) { msg.textContent = problem(err); }
  } }, row('care.reason', reason),
  el('button', { type: 'submit' }, tr('care.reopen')), msg);
}

async function fillPanel(panel, id, status) {
  panel.replaceChildren();
  const refresh = () => (D.go ? D.go(`#/alerts/${id}`) : location.reload());
  if (status !== 'closed') panel.append(closeForm(id, refresh));
  else if (D.user && ['supervisor', 'admin'].includes(D.user.role)) panel.append(reopenForm(id, refresh));
  panel.append(await counsellingSection(id));
  try {
    const hist = await D.api(`/api/v1/alerts/${id}/history`);
    if (!hist.earlier.length && !hist.outside_scope) return;
    panel.append(el('h3', {}, tr('care.history')), el('ul', { class: 'care-history' },
      hist.earlier.map((e) => el('li', {}, el('a', { href: `#/alerts/${e.alert.id}` }, `#${e.alert.id}`),
        ` ${when(e.alert.received_at)} · ${e.outcome ? tr(`outcome.${e.outcome}`) : e.alert.status}`,
        e.counselling.length ? ` · ${e.counselling.map((c) => c.by).join(', ')}` : '',
        e.followups.length ? ` · ${e.followups.filter((f) => f.status === 'done').length}/${e.followups.length} ✓` : ''))),
    hist.outside_scope ? el('p', { class: 'muted small' }, tr('care.elsewhere', { n: hist.outside_scope })) : null);
  } catch (err) { console.warn('care history', err); }
}

function watchAlertPage() {
  const check = () => {
    const detail = document.getElementById('detail');
    if (!detail || !detail.dataset.id || detail.dataset.status === 'loading') return;
    const status = (document.getElementById('detail-status') || {}).className || '';
    const closed = status.includes('status-closed') ? 'closed' : 'open';
    const key = `${detail.dataset.id}:${closed}`;
    let panel = detail.querySelector('.care-panel');
    if (panel && panel.dataset.key === key) return;
    if (!panel) {
      panel = el('div', { class: 'care-panel card' });
      (detail.querySelector('#actions') || detail).after(panel);
    }
    panel.dataset.key = key;
    fillPanel(panel, detail.dataset.id, closed);
  };
  new MutationObserver(check).observe(document.body, { childList: true, subtree: true, attributes: true,
    attributeFilter: ['data-status', 'class'] });
}

async function renderFollowups(view) {
  view.replaceChildren(el('h2', {}, tr('care.nav')));
  let rows = [];
  try { rows = await D.api('/api/v1/followups', { query: { due: 1 } }); }
  catch (err) { view.append(el('p', { class: 'error' }, problem(err))); return; }
  if (!rows.length) { view.append(el('p', { class: 'muted' }, tr('care.none_due'))); return; }
  view.append(el('ul', { class: 'care-followups' }, rows.map((f) => {
    const made = el('input', { type: 'checkbox', name: 'contact_made' });
    const state = el('input', { name: 'person_state', placeholder: tr('care.state') });
    const referral = el('input', { name: 'referral', placeholder: tr('care.referral') });
    const msg = el('span', { class: 'error small' });
    return el('li', { class: f.overdue ? 'overdue' : '', 'data-id': f.id },
      el('a', { href: `#/alerts/${f.alert_id}` }, `#${f.alert_id}`), ` ${f.subject_label || ''} · `,
      `${f.offset_hours} h · ${tr('care.due', { t: when(f.due_at) })}`,
      f.overdue ? el('strong', { class: 'badge' }, ` ${tr('care.overdue')}`) : '',
      el('form', { class: 'inline-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await D.api(`/api/v1/followups/${f.id}`, { method: 'POST', json: {
            contact_made: made.checked, person_state: state.value || null, referral: referral.value || null } });
          renderFollowups(view);
        } catch (err) { msg.textContent = problem(err); }
      } }, el('label', {}, made, tr('care.contact_made')), state, referral,
      el('button', { type: 'submit' }, tr('care.record')), msg));
  })));
}

if (D && typeof D.route === 'function') {
  strings();
  D.route('followups', (view) => renderFollowups(view));
  if (typeof D.navAdd === 'function') D.navAdd('care.nav', '#/followups');
  if (typeof D.on === 'function') {
    D.on('followup.overdue', () => { if (location.hash.startsWith('#/followups')) D.go('#/followups'); });
  }
  watchAlertPage();
} else {
  console.warn('care.js: window.Dispatch is missing; care console features are off');
}
