// People: names of user ids (cached), the directory search, and the dialogs
// that pick people (a new direct chat, a new group, a group's members).
import { $, clear, h, status } from './dom.js';

export class People {
  constructor(api) {
    this.api = api;
    this.cache = new Map();
    this.presence = new Map();
  }

  /** A user's profile (cached; a failed lookup shows the id's start). */
  async get(id) {
    if (!this.cache.has(id)) {
      this.cache.set(id, this.api.get(`/v1/users/${id}`).catch(() => ({ user_id: id, username: id.slice(0, 8) })));
    }
    return this.cache.get(id);
  }

  async name(id) {
    const u = await this.get(id);
    return u.display_name || u.username;
  }

  search(q) {
    return this.api.get(`/v1/users?q=${encodeURIComponent(q)}&limit=10`).then((p) => p.items);
  }
}

/** Open the shared dialog: `build(body)` fills it; `ok()` runs on OK and
 * closes it unless it throws (its message is shown). */
export function dialog(title, build, ok, okLabel = 'OK') {
  const d = $('dialog');
  $('dialog-title').textContent = title;
  $('dialog-error').textContent = '';
  $('dialog-ok').textContent = okLabel;
  build(clear($('dialog-body')));
  const form = $('dialog-form');
  form.onsubmit = async (e) => {
    if (e.submitter?.value !== 'ok') return;
    e.preventDefault();
    try {
      await ok();
      d.close();
    } catch (err) {
      $('dialog-error').textContent = err.message;
    }
  };
  d.showModal();
  d.querySelector('input')?.focus();
}

/** A directory search field that keeps a set of picked users. */
function picker(people, body, { multiple }) {
  const picked = new Map();
  const input = h('input', { type: 'search', name: 'who', autocomplete: 'off', 'aria-describedby': 'picker-help' });
  const results = h('ul', { class: 'list', 'aria-label': 'Matching people' });
  const chosen = h('ul', { class: 'list', 'aria-label': 'Chosen people' });
  const render = () => {
    clear(chosen);
    for (const u of picked.values()) {
      chosen.append(h('li', {}, h('button', { type: 'button', onclick: () => { picked.delete(u.user_id); render(); } },
        h('span', { class: 'title' }, `${u.display_name || u.username} (@${u.username}) ✕`))));
    }
  };
  let timer;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      clear(results);
      if (!q) return;
      for (const u of await people.search(q)) {
        if (u.user_id === people.api.userId) continue;
        results.append(h('li', {}, h('button', {
          type: 'button',
          onclick: () => { if (!multiple) picked.clear(); picked.set(u.user_id, u); render(); clear(results); input.value = ''; },
        }, h('span', { class: 'title' }, u.display_name || u.username), h('span', { class: 'preview' }, `@${u.username}`))));
      }
    }, 200);
  });
  body.append(h('label', {}, 'Find people by username', input), h('p', { id: 'picker-help', class: 'preview' }, 'Type a username, then pick from the list.'), results, chosen);
  return picked;
}

export function newDirect(people, open) {
  let picked;
  dialog('New chat', (body) => { picked = picker(people, body, { multiple: false }); }, async () => {
    const [u] = picked.values();
    if (!u) throw new Error('Pick someone first.');
    const r = await people.api.post('/v1/chats/direct', { recipient_id: u.user_id });
    open(r.chat_id, r.position);
  }, 'Start chat');
}

export function newGroup(people, open) {
  let picked, title;
  dialog('New group', (body) => {
    title = h('input', { name: 'title', required: true, maxlength: 128 });
    body.append(h('label', {}, 'Group name', title));
    picked = picker(people, body, { multiple: true });
  }, async () => {
    if (!title.value.trim()) throw new Error('Give the group a name.');
    const r = await people.api.post('/v1/chats/group', { title: title.value.trim(), member_ids: [...picked.keys()] });
    open(r.chat_id, r.position);
  }, 'Create group');
}

/** A chat's members; admins of a group add and remove them here. */
export async function members(people, chat, refresh) {
  const me = chat.members.find((m) => m.user_id === people.api.userId);
  const admin = chat.kind === 'group' && me && ['admin', 'owner'].includes(me.role);
  let picked;
  dialog(`Members of ${chat.title ?? 'this chat'}`, (body) => {
    const list = h('ul', { class: 'list', 'aria-label': 'Members' });
    body.append(list);
    for (const m of chat.members) {
      const li = h('li', { class: 'member' });
      list.append(li);
      people.name(m.user_id).then((name) => {
        li.append(h('span', {}, `${name} · ${m.role}`));
        if (admin && m.user_id !== people.api.userId && m.role !== 'owner') {
          li.append(' ', h('button', {
            type: 'button', 'aria-label': `Remove ${name}`,
            onclick: async () => {
              try {
                const r = await people.api.del(`/v1/chats/${chat.chat_id}/members/${m.user_id}`);
                li.remove();
                status(`${name} removed`);
                refresh(r?.position);
              } catch (e) { $('dialog-error').textContent = e.message; }
            },
          }, 'Remove'));
        }
      });
    }
    if (admin) {
      body.append(h('h3', {}, 'Add members'));
      picked = picker(people, body, { multiple: true });
    }
  }, async () => {
    if (picked?.size) {
      const r = await people.api.post(`/v1/chats/${chat.chat_id}/members`, { user_ids: [...picked.keys()] });
      status('Members added');
      refresh(r.position);
    }
  }, admin ? 'Add' : 'OK');
}
