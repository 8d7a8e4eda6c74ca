// The open chat: history (newest page first, older pages as you scroll up),
// live changes re-read from the query API at their position, the composer
// (text, replies, images), message actions, typing, the read marker.
import { $, clear, h, status, time } from './dom.js';
import { location, poll, systemEntry } from './kinds.js';
import { members } from './people.js';

const TYPING_EVERY = 3000;
const TYPING_SHOWN = 6000;

export class Conversation {
  constructor(api, people, live, onChange) {
    this.api = api;
    this.people = people;
    this.live = live;
    this.onChange = onChange;
    this.chat = null;
    this.rows = new Map(); // seq → {msg, el}
    this.entries = new Set(); // entry ids of system entries shown
    this.cursor = null;
    this.loadingOlder = false;
    this.replyTo = null;
    this.typers = new Map();
    this.typingSent = 0;
    this.typingStop = null;
    this.readUpTo = 0;
    this.status = null; // {seq, word}: the receipt under one's newest message
    this.receiptCalls = 0;
    this.wire();
  }

  get id() { return this.chat?.chat_id ?? null; }
  get lastSeq() { return Math.max(0, ...this.rows.keys()); }

  wire() {
    const list = $('messages');
    list.addEventListener('scroll', () => { if (list.scrollTop < 60) this.older(); });
    const text = $('composer-text');
    text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
    });
    text.addEventListener('input', () => this.typing());
    $('composer').addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    $('composer-file').addEventListener('change', (e) => this.sendImage(e.target));
    $('reply-cancel').addEventListener('click', () => this.reply(null));
    $('accept').addEventListener('click', () => this.answerRequest('accept'));
    $('reject').addEventListener('click', () => this.answerRequest('reject'));
    $('chat-members').addEventListener('click', () => this.chat && members(this.people, this.chat, (position) => this.reloadDetail(position)));
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  /** Open a chat; `position` (a command's answer) waits for the read
   * models to show what that command did. */
  async open(chatId, position) {
    this.stopTyping();
    const at = position ? `?min_position=${position}` : '';
    this.chat = await this.api.get(`/v1/chats/${chatId}${at}`);
    this.rows.clear();
    this.entries.clear();
    this.status = null;
    this.typers.clear();
    this.reply(null);
    this.readUpTo = this.chat.me?.read_up_to ?? 0;
    clear($('messages'));
    $('empty').hidden = true;
    $('chat').hidden = false;
    await this.header();
    const page = await this.api.get(`/v1/chats/${chatId}/messages?limit=50`);
    this.cursor = page.next_cursor;
    for (const m of page.items) this.place(m);
    this.scrollToEnd();
    this.showTyping();
    this.markRead();
    this.receipt();
    $('composer-text').focus();
  }

  async reloadDetail(position) {
    if (!this.chat) return;
    const at = position ? `?min_position=${position}` : '';
    this.chat = await this.api.get(`/v1/chats/${this.chat.chat_id}${at}`);
    await this.header();
  }

  peer() {
    if (this.chat?.kind !== 'direct') return null;
    return this.chat.requester_id === this.api.userId ? this.chat.recipient_id : this.chat.requester_id;
  }

  async header() {
    const c = this.chat;
    const peer = this.peer();
    $('chat-title').textContent = c.title ?? (peer ? await this.people.name(peer) : 'Chat');
    this.presence();
    const pending = c.kind === 'direct' && c.status === 'pending';
    $('request-bar').hidden = !(pending && c.recipient_id === this.api.userId);
    $('composer').hidden = c.status === 'rejected' || c.status === 'closed' || (pending && c.recipient_id === this.api.userId);
  }

  presence() {
    const peer = this.peer();
    const el = $('chat-presence');
    if (!peer) { el.textContent = this.chat ? `${this.chat.members_count ?? this.chat.members.length} members` : ''; return; }
    const p = this.people.presence.get(peer);
    const seen = this.people.lastSeen?.get(peer);
    el.textContent = p && p !== 'offline' ? p : seen ? `last seen ${time(seen)}` : '';
  }

  async older() {
    if (!this.cursor || this.loadingOlder || !this.chat) return;
    this.loadingOlder = true;
    const list = $('messages');
    const before = list.scrollHeight;
    try {
      const page = await this.api.get(`/v1/chats/${this.chat.chat_id}/messages?limit=50&cursor=${encodeURIComponent(this.cursor)}`);
      this.cursor = page.next_cursor;
      for (const m of page.items) this.place(m);
      list.scrollTop += list.scrollHeight - before;
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Put a history item in order: a message by its seq (replacing its
   * older version), a system entry after the message it follows. */
  place(m) {
    if (m.kind === 'system') {
      if (this.entries.has(m.entry_id)) return;
      this.entries.add(m.entry_id);
      systemEntry(m, async (id) => (id === this.api.userId ? 'You' : this.people.name(id))).then((el) => this.insert(el, m.seq, m.entry_id));
      return;
    }
    const old = this.rows.get(m.seq);
    const el = this.render(m);
    if (old) old.el.replaceWith(el);
    else this.insert(el, m.seq, 0);
    this.rows.set(m.seq, { msg: m, el });
  }

  /** Insert before the first item with a larger (seq, entry) key. */
  insert(el, seq, sub) {
    el.dataset.key = `${seq}:${sub}`;
    const list = $('messages');
    const later = [...list.children].find((c) => {
      const [s, e] = (c.dataset.key ?? `${c.dataset.seq}:0`).split(':').map(Number);
      return s > seq || (s === seq && e > sub);
    });
    if (later) list.insertBefore(el, later);
    else list.append(el);
  }

  render(m) {
    const mine = m.sender_id === this.api.userId;
    const li = h('li', { class: `msg${mine ? ' mine' : ''}${m.deleted ? ' deleted' : ''}`, dataset: { seq: m.seq, messageId: m.message_id } });
    const who = h('div', { class: 'who' });
    this.people.name(m.sender_id).then((n) => { who.textContent = mine ? 'You' : n; });
    li.append(who);
    if (m.reply_to) {
      const quoted = this.rows.get(m.reply_to.seq)?.msg;
      li.append(h('div', { class: 'quote' }, quoted?.text ?? 'a message'));
    }
    if (m.deleted) li.append(h('div', { class: 'body' }, 'This message was deleted.'));
    else {
      if (m.media?.url && m.media.mime.startsWith('image/')) {
        li.append(h('img', { src: m.media.url, alt: `Image (${m.media.mime})`, loading: 'lazy', width: m.media.width, height: m.media.height }));
      } else if (m.media?.removed) {
        li.append(h('div', { class: 'body removed' }, 'Media removed'));
      } else if (m.media) {
        li.append(h('a', { href: m.media.url ?? '#', download: true }, `File (${m.media.mime}, ${m.media.size} bytes)`));
      }
      if (m.text) li.append(h('div', { class: 'body' }, m.text));
      if (m.poll) li.append(poll(m.poll, (ids) => this.vote(m, ids)));
      if (m.location) li.append(location(m.location));
    }
    const meta = h('div', { class: 'meta' }, h('time', { datetime: m.sent_at }, time(m.sent_at)), m.edited_at ? '(edited)' : null);
    for (const [emoji, r] of Object.entries(m.reactions ?? {})) {
      meta.append(h('span', { class: 'reaction', 'aria-label': `${emoji} ${r.count}` }, `${emoji} ${r.count}`));
    }
    if (!m.deleted) {
      const liked = m.reactions?.['👍']?.mine;
      meta.append(
        h('button', { type: 'button', 'aria-label': 'Reply', onclick: () => this.reply(m) }, 'Reply'),
        h('button', { type: 'button', 'aria-pressed': liked ? 'true' : 'false', 'aria-label': liked ? 'Remove 👍' : 'React 👍', onclick: () => this.react(m, '👍', liked) }, '👍'),
      );
      if (mine && m.kind === 'text') meta.append(h('button', { type: 'button', onclick: () => this.edit(m, li) }, 'Edit'));
      if (mine) meta.append(h('button', { type: 'button', onclick: () => this.remove(m) }, 'Delete'));
    }
    li.append(meta);
    if (this.status?.seq === m.seq) li.append(h('div', { class: 'receipt', role: 'status' }, this.status.word));
    return li;
  }

  atEnd() {
    const list = $('messages');
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  scrollToEnd() {
    const list = $('messages');
    list.scrollTop = list.scrollHeight;
  }

  /** Show what a command of ours just added, without waiting for the live
   * stream (which shows it too; placing twice replaces). */
  async caughtUp(position) {
    const page = await this.api.get(`/v1/chats/${this.chat.chat_id}/messages?after_seq=${this.lastSeq}&limit=100&min_position=${position}`);
    for (const m of page.items) this.place(m);
    this.scrollToEnd();
  }

  /** A live event of this chat. */
  async apply(frame) {
    const ev = frame.event;
    const at = `&min_position=${frame.position}`;
    const base = `/v1/chats/${this.chat.chat_id}/messages`;
    if (ev.type === 'MessageSent') {
      const end = this.atEnd();
      const page = await this.api.get(`${base}?after_seq=${this.lastSeq}&limit=100${at}`);
      for (const m of page.items) this.place(m);
      this.typers.delete(ev.sender_id);
      this.showTyping();
      if (end || ev.sender_id === this.api.userId) this.scrollToEnd();
      this.markRead();
      this.receipt(frame.position);
    } else if (ev.type === 'DeliveryMarkerMoved' || ev.type === 'ReadMarkerMoved') {
      if (ev.user_id !== this.api.userId) this.receipt(frame.position);
    } else if (ev.seq && this.rows.has(ev.seq)) {
      const page = await this.api.get(`${base}?after_seq=${ev.seq - 1}&limit=1${at}`);
      for (const m of page.items) this.place(m);
    } else if (!ev.type.startsWith('Message') && !ev.type.startsWith('Reaction')) {
      await this.reloadDetail(frame.position);
    }
    if (!ev.type.startsWith('Reaction') && ev.type !== 'MessageSent') {
      // Membership, info and pins show as system entries after the newest message.
      const page = await this.api.get(`${base}?after_seq=${this.lastSeq}&limit=100${at}`);
      for (const m of page.items) this.place(m);
    }
  }

  /** Under one's newest message in a direct chat: Sent, Delivered or Read
   * (its receipts, which the peer's privacy settings may withhold). Only
   * the newest call answers, so a slow earlier one cannot undo it. */
  async receipt(position) {
    if (this.chat?.kind !== 'direct') return;
    const call = ++this.receiptCalls;
    const mine = [...this.rows.values()].map((r) => r.msg).filter((m) => m.sender_id === this.api.userId && !m.deleted);
    const last = mine.sort((a, b) => b.seq - a.seq)[0];
    if (!last) return;
    const at = position ? `?min_position=${position}` : '';
    const r = await this.api.get(`/v1/chats/${this.chat.chat_id}/messages/${last.message_id}/receipts${at}`).catch(() => null);
    if (!r || call !== this.receiptCalls) return;
    const word = r.items.some((x) => x.read_at) ? 'Read' : r.items.some((x) => x.delivered_at) ? 'Delivered' : 'Sent';
    const before = this.status?.seq;
    this.status = { seq: last.seq, word };
    for (const seq of new Set([before, last.seq])) {
      const row = this.rows.get(seq);
      if (row) this.place(row.msg);
    }
  }

  async markRead() {
    if (!this.chat || document.visibilityState !== 'visible') return;
    const last = this.lastSeq;
    if (last <= this.readUpTo) return;
    this.readUpTo = last;
    try {
      await this.api.post(`/v1/chats/${this.chat.chat_id}/read`, { up_to_seq: last });
      this.onChange();
    } catch { /* a pending request cannot be read yet */ }
  }

  reply(m) {
    this.replyTo = m;
    $('reply-bar').hidden = !m;
    $('reply-text').textContent = m ? `Replying to: ${m.text ?? 'a message'}` : '';
    if (m) $('composer-text').focus();
  }

  async send() {
    const text = $('composer-text');
    const body = text.value;
    if (!body.trim()) return;
    const msg = { client_msg_id: crypto.randomUUID(), kind: 'text', text: body };
    if (this.replyTo) msg.reply_to = this.replyTo.message_id;
    // Cleared at once, so the next message can be typed while this one is
    // on its way; given back if it is refused.
    const replyTo = this.replyTo;
    text.value = '';
    this.reply(null);
    this.stopTyping();
    try {
      const sent = await this.api.post(`/v1/chats/${this.chat.chat_id}/messages`, msg);
      await this.caughtUp(sent.position);
    } catch (e) {
      status(`Not sent: ${e.message}`);
      if (!text.value) text.value = body;
      this.reply(replyTo);
    }
  }

  async sendImage(input) {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    try {
      status('Uploading…');
      const media = await this.api.upload(file);
      const sent = await this.api.post(`/v1/chats/${this.chat.chat_id}/messages`, { client_msg_id: crypto.randomUUID(), kind: media.kind, media_id: media.media_id });
      status('Sent');
      await this.caughtUp(sent.position);
    } catch (e) {
      status(`Not sent: ${e.message}`);
    }
  }

  async vote(m, optionIds) {
    const path = `/v1/chats/${this.chat.chat_id}/messages/${m.message_id}/votes`;
    try { await this.api.put(path, { option_ids: optionIds }); } catch (e) { status(e.message); }
  }

  async react(m, emoji, mine) {
    const path = `/v1/chats/${this.chat.chat_id}/messages/${m.message_id}/reactions/${encodeURIComponent(emoji)}`;
    try { await (mine ? this.api.del(path) : this.api.put(path)); } catch (e) { status(e.message); }
  }

  edit(m, li) {
    const area = h('textarea', { 'aria-label': 'Edit message', rows: 2 });
    area.value = m.text ?? '';
    const save = async () => {
      try {
        await this.api.patch(`/v1/chats/${this.chat.chat_id}/messages/${m.message_id}`, { text: area.value });
      } catch (e) { status(e.message); li.replaceWith(this.render(m)); }
    };
    const form = h('form', { onsubmit: (e) => { e.preventDefault(); save(); } }, area,
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => { const el = this.render(m); li.replaceWith(el); this.rows.get(m.seq).el = el; } }, 'Cancel'));
    li.querySelector('.body')?.replaceWith(form);
    area.focus();
  }

  async remove(m) {
    if (!confirm('Delete this message for everyone?')) return;
    try { await this.api.del(`/v1/chats/${this.chat.chat_id}/messages/${m.message_id}?for=everyone`); } catch (e) { status(e.message); }
  }

  async answerRequest(answer) {
    const r = await this.api.post(`/v1/chats/${this.chat.chat_id}/${answer}`);
    await this.reloadDetail(r.position);
    this.onChange();
  }

  typing() {
    if (!this.chat) return;
    const now = Date.now();
    if (now - this.typingSent > TYPING_EVERY) {
      this.typingSent = now;
      this.live.send({ type: 'typing', chat_id: this.chat.chat_id, state: 'start' });
    }
    clearTimeout(this.typingStop);
    this.typingStop = setTimeout(() => this.stopTyping(), TYPING_EVERY + 1000);
  }

  stopTyping() {
    clearTimeout(this.typingStop);
    if (this.typingSent && this.chat) this.live.send({ type: 'typing', chat_id: this.chat.chat_id, state: 'stop' });
    this.typingSent = 0;
  }

  /** Someone's typing frame (only this chat's reach here). */
  async typingFrame(f) {
    clearTimeout(this.typers.get(f.user_id));
    if (f.state === 'start') this.typers.set(f.user_id, setTimeout(() => { this.typers.delete(f.user_id); this.showTyping(); }, TYPING_SHOWN));
    else this.typers.delete(f.user_id);
    this.showTyping();
  }

  async showTyping() {
    const names = await Promise.all([...this.typers.keys()].map((id) => this.people.name(id)));
    $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`;
  }
}
