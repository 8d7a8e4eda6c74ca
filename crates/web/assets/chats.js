// The sidebar: chats (newest activity first) with unread counts, pending
// requests, and message search. Refreshed from the query API after live
// events, reading at least the event's position (`min_position`), so a
// count never lags the message that changed it.
import { $, clear, h, highlighted, time } from './dom.js';

export class ChatList {
  constructor(api, people, open) {
    this.api = api;
    this.people = people;
    this.open = open;
    this.current = null;
    this.items = new Map();
    this.timer = null;
    this.position = 0;
  }

  /** Refresh soon (bursts of events make one refresh). */
  soon(position = 0) {
    this.position = Math.max(this.position, position);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 120);
  }

  async load() {
    // Loads overlap when events come fast; only the newest one renders.
    const run = (this.run = (this.run ?? 0) + 1);
    const at = this.position ? `&min_position=${this.position}` : '';
    const [chats, requests] = await Promise.all([
      this.api.get(`/v1/chats?filter=active&limit=100${at}`),
      this.api.get(`/v1/chats?filter=requests&limit=100${at}`),
    ]);
    const [chatRows, requestRows] = await Promise.all([
      this.rows(chats.items, 'No chats yet.'),
      this.rows(requests.items, 'No requests.'),
    ]);
    if (run !== this.run) return;
    this.items = new Map([...chats.items, ...requests.items].map((c) => [c.chat_id, c]));
    clear($('chat-list')).append(...chatRows);
    clear($('requests')).append(...requestRows);
  }

  async title(c) {
    if (c.title) return c.title;
    return c.peer_id ? this.people.name(c.peer_id) : 'Chat';
  }

  async rows(items, none) {
    const rows = await Promise.all(items.map(async (c) => {
      const title = await this.title(c);
      const online = c.peer_id && this.people.presence.get(c.peer_id) === 'online';
      const preview = c.last_message ? (c.last_message.deleted ? 'Message deleted' : c.last_message.preview) : (c.status === 'pending' ? 'Chat request' : '');
      const label = `${title}${c.unread_count ? `, ${c.unread_count} unread` : ''}`;
      return h('li', {}, h('button', {
        type: 'button', 'aria-label': label, 'aria-current': c.chat_id === this.current,
        dataset: { chatId: c.chat_id }, onclick: () => this.open(c.chat_id),
      },
      h('span', { class: 'title' }, title, online ? h('span', { class: 'dot', title: 'online' }) : null),
      c.unread_count ? h('span', { class: 'badge', 'data-unread': c.unread_count }, String(c.unread_count)) : null,
      h('span', { class: 'preview' }, preview, c.last_message ? ` · ${time(c.last_message.sent_at)}` : '')));
    }));
    return rows.length ? rows : [h('li', { class: 'preview' }, none)];
  }

  async search(q) {
    const box = $('search-results');
    const ul = clear($('search-list'));
    if (!q) { box.hidden = true; return; }
    box.hidden = false;
    const hits = await this.api.get(`/v1/search/messages?q=${encodeURIComponent(q)}&limit=20`);
    if (!hits.items.length) ul.append(h('li', { class: 'preview' }, 'Nothing found.'));
    for (const hit of hits.items) {
      const chat = this.items.get(hit.chat_id);
      const where = chat ? await this.title(chat) : 'a chat';
      ul.append(h('li', {}, h('button', { type: 'button', onclick: () => this.open(hit.chat_id) },
        h('span', { class: 'title' }, where),
        h('span', { class: 'preview' }, ...(hit.highlight ? highlighted(hit.highlight) : [hit.text ?? ''])))));
    }
  }
}
