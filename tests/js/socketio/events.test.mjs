// Seed 001's Socket.IO events against a real `chat serve`, driven by the
// real socket.io-client: every row of api.md's "Clients" table, refusals,
// idempotency through clientMsgId, and the privacy rules the stream keeps.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Api, PNG } from '../support/api.mjs';
import { startServer } from '../support/server.mjs';
import { connect, sleep } from '../support/sio.mjs';

let server, api;
before(async () => { server = await startServer(); api = new Api(server.url); });
after(async () => { await server?.stop(); });

async function pair() {
  const a = await api.register('a'), b = await api.register('b');
  const chat = await api.directChat(a, b);
  const sa = await connect(server.url, { token: a.token });
  const sb = await connect(server.url, { token: b.token });
  await sa.next('subscribed');
  await sb.next('subscribed');
  return { a, b, chat, sa, sb };
}

describe('connecting', () => {
  test('a refused or missing token fails the connection with connect_error', async () => {
    await assert.rejects(connect(server.url, { token: 'not-a-token' }), (e) => e.message === 'invalid_token');
    await assert.rejects(connect(server.url, {}), (e) => e.message === 'missing_token');
  });

  test('the token also works as ?token= and as an Authorization header', async () => {
    const u = await api.register('q');
    const byQuery = await connect(server.url, {}, { query: { token: u.token } });
    await byQuery.next('subscribed');
    byQuery.close();
    const byHeader = await connect(server.url, {}, { extraHeaders: { authorization: `Bearer ${u.token}` }, transports: ['polling'] });
    await byHeader.next('subscribed');
    byHeader.close();
  });
});

describe('seed 001 events', () => {
  test('join_chat answers members and refuses an outsider', async () => {
    const { chat, sa, sb } = await pair();
    sa.emit('join_chat', { chatId: chat });
    assert.equal((await sa.next('join_chat_success')).chatId, chat);
    const c = await api.register('c');
    const sc = await connect(server.url, { token: c.token });
    sc.emit('join_chat', { chatId: chat });
    const err = await sc.next('error');
    assert.equal(err.code, 'chat_not_found');
    sa.emit('leave_chat', { chatId: chat });
    assert.equal((await sa.next('leave_chat_success')).chatId, chat);
    for (const s of [sa, sb, sc]) s.close();
  });

  test('send_message reaches the other side once, with unread_message, and never echoes to the sender', async () => {
    const { a, chat, sa, sb } = await pair();
    sa.emit('send_message', { chatId: chat, content: 'hello', clientMsgId: 'c-1' });
    const ok = await sa.next('send_message_success');
    const got = await sb.next('message_received');
    assert.equal(got.messageId, ok.messageId);
    assert.equal(got.content, 'hello');
    assert.equal(got.senderId, a.user_id);
    assert.equal(got.chatId, chat);
    assert.equal(got.messageType, 'text');
    const unread = await sb.next('unread_message');
    assert.equal(unread.unreadCount, 1);
    assert.equal(unread.senderId, a.user_id);
    assert.equal(unread.lastMessage.content, 'hello');
    // The same clientMsgId again is the same message, not a second one.
    sa.emit('send_message', { chatId: chat, content: 'hello', clientMsgId: 'c-1' });
    assert.equal((await sa.next('send_message_success')).messageId, ok.messageId);
    sa.emit('send_message', { chatId: chat, content: 'second', replyToId: ok.messageId });
    const second = await sb.next('message_received', (m) => m.content === 'second');
    assert.equal(second.replyTo, ok.messageId);
    assert.equal((await sb.next('unread_message', (u) => u.unreadCount === 2)).unreadCount, 2);
    await sleep(200);
    assert.equal(sb.all('message_received').length, 2);
    assert.equal(sa.all('message_received').length, 0, 'no echo to the sending socket');
    sa.close(); sb.close();
  });

  test('mark_as_read, typing, edit, reactions and delete each answer and broadcast', async () => {
    const { a, b, chat, sa, sb } = await pair();
    sa.emit('send_message', { chatId: chat, content: 'first draft' });
    const { messageId } = await sa.next('send_message_success');
    await sb.next('message_received');

    sb.emit('mark_as_read', { chatId: chat, messageIds: [messageId] });
    assert.deepEqual((await sb.next('read_success')).messageIds, [messageId]);
    const read = await sa.next('messages_read');
    assert.equal(read.readBy, b.user_id);
    assert.deepEqual(read.messageIds, [messageId]);

    sb.emit('typing', { chatId: chat });
    assert.equal((await sa.next('user_typing')).userId, b.user_id);
    sb.emit('stop_typing', { chatId: chat });
    assert.equal((await sa.next('user_stop_typing')).userId, b.user_id);
    sb.emit('typing_start', { chatId: chat });
    await sa.next('user_typing');
    sb.emit('typing_stop', { chatId: chat });
    await sa.next('user_stop_typing');

    sa.emit('edit_message', { chatId: chat, messageId, newContent: 'final' });
    assert.equal((await sa.next('edit_success')).messageId, messageId);
    const edited = await sb.next('message_edited');
    assert.equal(edited.newContent, 'final');
    assert.equal(edited.editedBy, a.user_id);

    sb.emit('add_reaction', { chatId: chat, messageId, emoji: '👍' });
    assert.equal((await sb.next('reaction_success')).emoji, '👍');
    const added = await sa.next('reaction_added');
    assert.equal(added.userId, b.user_id);
    assert.equal(added.emoji, '👍');
    sb.emit('remove_reaction', { chatId: chat, messageId, emoji: '👍' });
    assert.equal((await sb.next('reaction_removed_success')).emoji, '👍');
    assert.equal((await sa.next('reaction_removed')).emoji, '👍');

    sa.emit('delete_message', { chatId: chat, messageId });
    assert.equal((await sa.next('delete_success')).messageId, messageId);
    const deleted = await sb.next('message_deleted');
    assert.equal(deleted.deletedBy, a.user_id);
    sa.close(); sb.close();
  });

  test('send_media sends an uploaded file and the other side gets media_received with its URL', async () => {
    const { chat, sa, sb, a } = await pair();
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'dot.png');
    const up = await fetch(`${server.url}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
    assert.equal(up.status, 201);
    const media = await up.json();
    sa.emit('send_media', { chatId: chat, messageType: 'image', media: { fileId: media.media_id } });
    const ok = await sa.next('send_media_success');
    const got = await sb.next('media_received');
    assert.equal(got.messageId, ok.messageId);
    assert.equal(got.media.fileId, media.media_id);
    assert.equal(got.media.mimeType, 'image/png');
    const blob = await fetch(server.url + got.media.url);
    assert.equal(blob.status, 200, 'the URL downloads the file');
    sa.close(); sb.close();
  });

  test('user_online and user_offline follow the other side, and not when they hide their last seen', async () => {
    const { b, sa, sb } = await pair();
    sb.close();
    assert.equal((await sa.next('user_offline', (p) => p.userId === b.user_id)).userId, b.user_id);
    const again = await connect(server.url, { token: b.token });
    assert.equal((await sa.next('user_online', (p) => p.userId === b.user_id)).userId, b.user_id);
    again.close();
    await sa.next('user_offline', (p) => p.userId === b.user_id);
    await api.ok('PUT', '/v1/me/settings', { token: b.token, body: { last_seen_visible_to: 'nobody' } });
    await sleep(200);
    const told = () => sa.all('user_online').filter((p) => p.userId === b.user_id).length;
    const before = told();
    const hidden = await connect(server.url, { token: b.token });
    await sleep(500);
    assert.equal(told(), before, 'hidden presence is not told');
    hidden.close(); sa.close();
  });

  test('every refusal is an error event with the HTTP problem code, and bad input changes nothing', async () => {
    const { chat, sa, sb } = await pair();
    sa.emit('send_message', { content: 'no chat' });
    assert.equal((await sa.next('error')).code, 'invalid_body');
    sa.emit('send_message', { chatId: chat, content: '   ' });
    assert.equal((await sa.next('error', (e) => e.code !== 'invalid_body')).code, 'text_required');
    sa.emit('edit_message', { chatId: chat, messageId: '00000000-0000-0000-0000-000000000000', newContent: 'x' });
    assert.equal((await sa.next('error', (e) => e.event === 'edit_message')).code, 'message_not_found');
    sa.emit('dance', {});
    assert.equal((await sa.next('error', (e) => e.event === 'dance')).code, 'unknown_event');
    const c = await api.register('c');
    const sc = await connect(server.url, { token: c.token });
    sc.emit('send_message', { chatId: chat, content: 'let me in' });
    assert.equal((await sc.next('error')).code, 'chat_not_found');
    await sleep(200);
    assert.equal(sb.all('message_received').length, 0, 'nothing was sent');
    const page = await api.ok('GET', `/v1/chats/${chat}/messages`, { token: sb.socket.auth.token });
    assert.equal(page.items.length, 0);
    for (const s of [sa, sb, sc]) s.close();
  });

  test('acks answer clients that ask for them', async () => {
    const { chat, sa, sb } = await pair();
    const ok = await sa.socket.emitWithAck('send_message', { chatId: chat, content: 'acked' });
    assert.ok(ok.messageId);
    const refused = await sa.socket.emitWithAck('send_message', { chatId: chat, content: '' });
    assert.equal(refused.error.code, 'text_required');
    sa.close(); sb.close();
  });
});
