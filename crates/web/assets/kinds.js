// Messages whose body is not text: a poll (its question, each option with
// its votes, the caller's ballot pressed; a click sends the new ballot) and
// a location (its name and coordinates); and system entries of history.
import { h } from './dom.js';

/** A poll; `vote(optionIds)` sends the caller's whole new ballot. */
export function poll(p, vote) {
  const box = h('div', { class: 'poll', role: 'group', 'aria-label': `Poll: ${p.question}` }, h('strong', {}, `📊 ${p.question}`));
  const mine = new Set(p.my_vote ?? []);
  for (const o of p.options) {
    const votes = p.results?.find((r) => r.option_id === o.id)?.votes ?? 0;
    const chosen = mine.has(o.id);
    const ballot = () => {
      if (p.multiple) return chosen ? [...mine].filter((id) => id !== o.id) : [...mine, o.id];
      return chosen ? [] : [o.id];
    };
    box.append(h('button', {
      type: 'button', class: 'option', 'aria-pressed': chosen ? 'true' : 'false', disabled: p.closed,
      onclick: () => vote(ballot()),
    }, `${o.text} · ${votes}`));
  }
  const voters = `${p.total_voters} ${p.total_voters === 1 ? 'vote' : 'votes'}`;
  box.append(h('div', { class: 'poll-meta' }, p.closed ? `${voters} · closed` : voters));
  return box;
}

/** A location: its name, and where it is. */
export function location(l) {
  const where = `${l.lat.toFixed(5)}, ${l.lon.toFixed(5)}`;
  return h('div', { class: 'body' }, `📍 ${l.name ? `${l.name} (${where})` : where}`);
}

/** A system entry of history ("Ana added Ben"), names resolved by `name`. */
export async function systemEntry(e, name) {
  const [actor, ...whom] = await Promise.all([e.actor_id ? name(e.actor_id) : 'The group', ...e.user_ids.map(name)]);
  const them = whom.join(', ');
  const says = {
    created: `${actor} created “${e.title}”`,
    added: `${actor} added ${them}`,
    joined: `${them} joined by link`,
    left: `${them} left`,
    removed: `${actor} removed ${them}`,
    banned: `${actor} banned ${them}`,
    role_changed: `${actor} made ${them} ${e.role}`,
    ownership_transferred: `${actor} handed ownership to ${them}`,
    renamed: `${actor} renamed the group to “${e.title}”`,
    info_updated: `${actor} changed the group info`,
    pinned: `${actor} pinned a message`,
    unpinned: `${actor} unpinned a message`,
    closed: 'The group was closed',
  }[e.action] ?? e.action;
  return h('li', { class: 'system', dataset: { entryId: e.entry_id } }, says);
}
