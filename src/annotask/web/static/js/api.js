// The REST API as the pages use it: the session cookie plus the CSRF header
// (double submit, spec 0.8), DRF-style errors turned into ApiError.

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** An answer outside 2xx; `body` is the parsed JSON (or text) the server sent. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describe(body) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }

  /** `{field: [messages]}` for a 400 validation body, else `{}`. */
  fieldErrors() {
    if (this.status !== 400 || !this.body || typeof this.body !== 'object' || Array.isArray(this.body)) {
      return {};
    }
    const out = {};
    for (const [key, value] of Object.entries(this.body)) {
      out[key] = Array.isArray(value) ? value.map(String) : [String(value)];
    }
    return out;
  }
}

/** One readable line for any error body the API sends. */
export function describe(body) {
  if (body == null) return '';
  if (typeof body === 'string') return body.trim().slice(0, 500);
  if (Array.isArray(body)) return body.map(describe).join(' ');
  if (typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail;
    return Object.entries(body)
      .map(([key, value]) => {
        const text = Array.isArray(value) ? value.join(' ') : describe(value);
        return key === 'non_field_errors' ? text : `${key}: ${text}`;
      })
      .join('; ');
  }
  return String(body);
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return '';
}

export function csrfHeaders(headers = {}) {
  return { ...headers, 'X-CSRFToken': cookie('csrftoken') };
}

let redirecting = false;

/** Send the browser to the login page, coming back here afterwards. */
export function toLogin() {
  if (redirecting) return;
  redirecting = true;
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function parseBody(response) {
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const text = await response.text();
  if (type.includes('json') && text) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * One API call. `json` is sent as the JSON body; `body` and `headers` as given.
 * A 401 sends the browser to the login page unless `noLoginRedirect` is set.
 */
export async function request(method, path, { json, body, headers = {}, noLoginRedirect = false, raw = false } = {}) {
  const sent = { ...headers };
  if (json !== undefined) {
    sent['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const upper = method.toUpperCase();
  const init = { method: upper, headers: SAFE_METHODS.has(upper) ? sent : csrfHeaders(sent), credentials: 'same-origin', body };
  const response = await fetch(path, init);
  if (response.status === 401 && !noLoginRedirect) {
    toLogin();
  }
  if (!response.ok) {
    throw new ApiError(response.status, await parseBody(response));
  }
  if (raw) return response;
  return parseBody(response);
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, json, options = {}) => request('POST', path, { ...options, json }),
  patch: (path, json, options = {}) => request('PATCH', path, { ...options, json }),
  delete: (path, options) => request('DELETE', path, options),
};

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Every item of a paginated list (for selectors: projects, users, labels). */
export async function listAll(path, params = {}) {
  const items = [];
  for (let page = 1; page < 1000; page += 1) {
    const data = await api.get(path + query({ ...params, page, page_size: 500 }));
    items.push(...data.results);
    if (!data.next) break;
  }
  return items;
}

/** Poll a background request (`/api/requests/{id}`) until it finishes or fails. */
export async function pollRequest(rqId, onUpdate, { interval = 1000 } = {}) {
  for (;;) {
    const rq = await api.get(`/api/requests/${encodeURIComponent(rqId)}`);
    onUpdate?.(rq);
    if (rq.status === 'finished' || rq.status === 'failed') return rq;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
