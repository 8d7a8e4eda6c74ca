// Messages whose body is not text: a poll (its question, each option with
// its votes, the caller's ballot pressed; a click sends the new ballot) and
// a location (its name and coordinates).
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
