// The Socket.IO stream is the gateway's per-user stream: exact resume with
// auth.afterPosition, a conversation where the other side uses /v1/ws and
// HTTP, and two nodes sharing Postgres and Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { Api } from '../support/api.mjs';
import { freshDatabase, startServer } from '../support/server.mjs';
import { connect, sleep } from '../support/sio.mjs';

const REDIS = process.env.REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';

/** A /v1/ws client that records its frames. */
async function ws(base, token) {
  const sock = new WebSocket(`${base.replace('http', 'ws')}/v1/ws?access_token=${token}`);
  const frames = [];
  const waiters = [];
  sock.on('message', (m) => {
    const f = JSON.parse(m.toString());
    frames.push(f);
    for (const w of waiters.splice(0)) if (!w(f)) waiters.push(w);
  });
  await new Promise((ok, fail) => { sock.on('open', ok); sock.on('error', fail); });
  const next = (match, ms = 5000) => {
    const seen = frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no matching frame; got ${JSON.stringify(frames)}`)), ms);
      waiters.push((f) => { if (match(f)) { clearTimeout(timer); ok(f); return true; } return false; });
    });
  };
  sock.send(JSON.stringify({ type: 'subscribe' }));
  await next((f) => f.type === 'subscribed');
  return { sock, frames, next, send: (f) => sock.send(JSON.stringify(f)) };
}

describe('one node', () => {
  let server, api;
  before(async () => { server = await startServer(); api = new Api(server.url); });
  after(async () => { await server?.stop(); });

  test('a reconnect with auth.afterPosition gets exactly what it missed, in order', async () => {
    const a = await api.register('a'), b = await api.register('b');
    const chat = await api.directChat(a, b);
    const first = await connect(server.url, { token: b.token });
    await api.send(a, chat, 'before the drop');
    await first.next('message_received');
    const position = first.position();
    first.close();
    for (const text of ['one', 'two', 'three']) await api.send(a, chat, text);
    const edited = await api.send(a, chat, 'four');
    await api.ok('PATCH', `/v1/chats/${chat}/messages/${edited.message_id}`, { token: a.token, body: { text: 'four, edited' } });
    const again = await connect(server.url, { token: b.token, afterPosition: position });
    assert.equal((await again.next('subscribed')).position, position);
    await again.next('message_edited');
    await api.send(a, chat, 'live');
    await again.next('message_received', (m) => m.content === 'live');
    await sleep(200);
    const texts = again.all('message_received').map((m) => m.content);
    assert.deepEqual(texts, ['one', 'two', 'three', 'four', 'live'], 'no gap, no duplicate at the seam');
    const positions = again.events.map((e) => e.data?.position).filter(Boolean);
    assert.deepEqual(positions, [...positions].sort((x, y) => x - y), 'in log order');
    assert.equal(again.all('message_edited')[0].newContent, 'four, edited');
    again.close();
  });

  test('a resume does not show what the query side hides: a message deleted since is a tombstone', async () => {
    const a = await api.register('a'), b = await api.register('b');
    const chat = await api.directChat(a, b);
    const first = await connect(server.url, { token: b.token });
    await first.next('subscribed');
    const position = first.position() || (await first.next('subscribed')).position;
    first.close();
    const sent = await api.send(a, chat, 'regrettable');
    await api.ok('DELETE', `/v1/chats/${chat}/messages/${sent.message_id}?for=everyone`, { token: a.token });
    const again = await connect(server.url, { token: b.token, afterPosition: position });
    const tomb = await again.next('message_received');
    assert.equal(tomb.content, null);
    assert.equal(tomb.deleted, true);
    await again.next('message_deleted');
    assert.ok(!JSON.stringify(again.events).includes('regrettable'));
    again.close();
  });

  test('one side on Socket.IO, the other on /v1/ws and HTTP', async () => {
    const a = await api.register('a'), b = await api.register('b');
    const chat = await api.directChat(a, b);
    const sa = await connect(server.url, { token: a.token });
    await sa.next('subscribed');
    const wb = await ws(server.url, b.token);
    sa.emit('send_message', { chatId: chat, content: 'from socket.io' });
    const ok = await sa.next('send_message_success');
    const frame = await wb.next((f) => f.type === 'event' && f.event.type === 'MessageSent');
    assert.equal(frame.event.message_id, ok.messageId);
    assert.equal(frame.event.text, 'from socket.io');
    await api.ok('POST', `/v1/chats/${chat}/read`, { token: b.token, body: { up_to_seq: 1 } });
    const read = await sa.next('messages_read');
    assert.deepEqual(read.messageIds, [ok.messageId]);
    const reply = await api.send(b, chat, 'from http');
    const got = await sa.next('message_received');
    assert.equal(got.messageId, reply.message_id);
    assert.equal(got.content, 'from http');
    wb.send({ type: 'typing', chat_id: chat, state: 'start' });
    assert.equal((await sa.next('user_typing')).userId, b.user_id);
    sa.emit('typing', { chatId: chat });
    const typing = await wb.next((f) => f.type === 'typing');
    assert.equal(typing.user_id, a.user_id);
    sa.close(); wb.sock.close();
  });
});

describe('two nodes', () => {
  let one, two, api1, api2;
  before(async () => {
    const database = freshDatabase();
    const env = { REDIS_URL: REDIS, GATEWAY_REDIS_PREFIX: `sio-${database}` };
    one = await startServer({ env, database });
    two = await startServer({ env, database });
    api1 = new Api(one.url); api2 = new Api(two.url);
  });
  after(async () => { await two?.stop({ drop: false }); await one?.stop(); });

  test('messages, typing and presence cross nodes through the existing Redis wiring', async () => {
    const a = await api1.register('a'), b = await api2.register('b');
    const chat = await api1.directChat(a, b);
    const sa = await connect(one.url, { token: a.token });
    await sa.next('subscribed');
    const sb = await connect(two.url, { token: b.token });
    await sb.next('subscribed');
    assert.equal((await sa.next('user_online', (p) => p.userId === b.user_id)).userId, b.user_id);
    sa.emit('send_message', { chatId: chat, content: 'across' });
    assert.equal((await sb.next('message_received')).content, 'across');
    assert.equal((await sb.next('unread_message')).unreadCount, 1);
    sb.emit('typing', { chatId: chat });
    assert.equal((await sa.next('user_typing')).userId, b.user_id);
    sb.close();
    await sa.next('user_offline', (p) => p.userId === b.user_id);
    sa.close();
    void api2;
  });
});
