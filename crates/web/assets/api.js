// The HTTP side: tokens (the refresh token kept in localStorage so a reload
// stays signed in; the access token only in memory), refresh a minute before
// expiry, one retry after a 401, problem+json errors as exceptions.

const REFRESH_KEY = 'chat.refresh_token';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? 'http_error';
    this.field = problem?.field;
  }
}

export class Api {
  constructor() {
    this.access = null;
    this.userId = null;
    this.timer = null;
    this.onToken = () => {};
    this.onSignedOut = () => {};
  }

  get signedIn() { return this.access !== null; }

  async request(method, path, { body, form, auth = true, retry = true } = {}) {
    const headers = {};
    if (auth && this.access) headers.authorization = `Bearer ${this.access}`;
    let payload;
    if (form) payload = form;
    else if (body !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(path, { method, headers, body: payload });
    if (res.status === 401 && auth && retry && localStorage.getItem(REFRESH_KEY)) {
      if (await this.refresh()) return this.request(method, path, { body, form, auth, retry: false });
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, { body }); }
  put(path, body) { return this.request('PUT', path, { body }); }
  patch(path, body) { return this.request('PATCH', path, { body }); }
  del(path) { return this.request('DELETE', path); }

  upload(file) {
    const form = new FormData();
    form.append('file', file, file.name);
    return this.request('POST', '/v1/media', { form });
  }

  async login(username, password) {
    this.adopt(await this.request('POST', '/v1/auth/login', { body: { username, password }, auth: false }));
  }

  async register(username, password, display_name) {
    const body = { username, password };
    if (display_name) body.display_name = display_name;
    this.adopt(await this.request('POST', '/v1/auth/register', { body, auth: false }));
  }

  /** Use the stored refresh token; false if there is none or it is refused. */
  async refresh() {
    const token = localStorage.getItem(REFRESH_KEY);
    if (!token) return false;
    if (!this.refreshing) {
      this.refreshing = this.request('POST', '/v1/auth/refresh', { body: { refresh_token: token }, auth: false, retry: false })
        .then((t) => { this.adopt(t); return true; })
        .catch((e) => { if (e.status === 401) this.forget(); return false; })
        .finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  adopt(t) {
    this.access = t.access_token;
    this.userId = t.user_id ?? this.userId ?? claims(t.access_token).sub;
    localStorage.setItem(REFRESH_KEY, t.refresh_token);
    clearTimeout(this.timer);
    const secs = Math.max(10, (t.expires_in ?? 900) - 60);
    this.timer = setTimeout(() => this.refresh(), secs * 1000);
    this.onToken(this.access);
  }

  async logout() {
    const token = localStorage.getItem(REFRESH_KEY);
    if (token) await this.request('POST', '/v1/auth/logout', { body: { refresh_token: token }, auth: false }).catch(() => {});
    this.forget();
  }

  forget() {
    clearTimeout(this.timer);
    this.access = null;
    this.userId = null;
    localStorage.removeItem(REFRESH_KEY);
    this.onSignedOut();
  }
}

/** A JWT's claims (read, not verified: the server verifies). */
function claims(jwt) {
  try { return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch { return {}; }
}
