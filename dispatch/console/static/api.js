// The console's HTTP client: the bearer token lives in sessionStorage (gone with the tab).
const TOKEN_KEY = 'dispatch.token';
const USER_KEY = 'dispatch.user';

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : describe(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

// FastAPI details are a string or a list of {field, message} / {loc, msg}.
function describe(detail) {
  if (Array.isArray(detail)) return detail.map((d) => d.message || d.msg || JSON.stringify(d)).join('; ');
  if (detail && typeof detail === 'object') return JSON.stringify(detail);
  return '';
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

export function savedUser() {
  try { return JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'); } catch { return null; }
}

export function saveSession(accessToken, user) {
  sessionStorage.setItem(TOKEN_KEY, accessToken);
  sessionStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// api('/api/v1/alerts', {method, json, form, query}) -> parsed JSON (null when empty).
export async function api(path, opts = {}) {
  const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
  const bearer = token();
  if (bearer && !opts.anonymous) headers.Authorization = `Bearer ${bearer}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    body = new URLSearchParams(opts.form);
  }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else if (v !== undefined && v !== null) q.append(k, v);
    }
    url += (url.includes('?') ? '&' : '?') + q.toString();
  }
  const method = opts.method || (body !== undefined ? 'POST' : 'GET');
  const res = await fetch(url, { method, headers, body, cache: 'no-store' });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.anonymous) onUnauthorized();
    throw new ApiError(res.status, data && data.detail !== undefined ? data.detail : data);
  }
  return data;
}
