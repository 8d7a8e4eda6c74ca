// HTTP helpers over the public API (the same calls any client makes).
import assert from 'node:assert/strict';

export class Api {
  constructor(base) { this.base = base; }

  async call(method, path, { token, body, headers = {}, raw } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (body !== undefined && !raw) { h['content-type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(this.base + path, { method, headers: h, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, json, headers: res.headers };
  }

  async ok(method, path, opts) {
    const r = await this.call(method, path, opts);
    assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /** A new user: `{user_id, access_token, username}`. */
  async register(prefix = 'u') {
    const username = `${prefix}${Math.random().toString(36).slice(2, 10)}`;
    const t = await this.ok('POST', '/v1/auth/register', { body: { username, password: 'correct horse battery', display_name: prefix } });
    return { ...t, username, token: t.access_token };
  }

  /** An accepted direct chat between two users. */
  async directChat(a, b) {
    const { chat_id } = await this.ok('POST', '/v1/chats/direct', { token: a.token, body: { recipient_id: b.user_id } });
    await this.ok('POST', `/v1/chats/${chat_id}/accept`, { token: b.token });
    return chat_id;
  }

  async send(user, chatId, text) {
    return this.ok('POST', `/v1/chats/${chatId}/messages`, {
      token: user.token,
      body: { client_msg_id: `http-${Math.random().toString(36).slice(2)}`, kind: 'text', text },
    });
  }
}

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
