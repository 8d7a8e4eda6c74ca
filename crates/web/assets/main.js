// The web client's entry: sign-in, then the chat list, the open chat and
// live updates, wired together. Everything goes through the public API
// (HTTP and /v1/ws), like any other client.
import { Api } from './api.js';
import { ChatList } from './chats.js';
import { Conversation } from './conversation.js';
import { $, status } from './dom.js';
import { Live } from './live.js';
import { enablePush, pushSupported } from './notify.js';
import { People, newDirect, newGroup } from './people.js';

const api = new Api();
const people = new People(api);
people.lastSeen = new Map();

const open = async (chatId, position) => {
  list.current = chatId;
  await conversation.open(chatId, position);
  list.soon(position);
  history.replaceState(null, '', `#chat=${chatId}`);
};

const live = new Live(api, {
  event: (f) => {
    if (f.chat_id && f.chat_id === conversation.id) conversation.apply(f).catch((e) => status(e.message));
    list.soon(f.position);
  },
  typing: (f) => { if (f.chat_id === conversation.id) conversation.typingFrame(f); },
  presence: (f) => {
    people.presence.set(f.user_id, f.status);
    if (f.last_seen) people.lastSeen.set(f.user_id, f.last_seen);
    conversation.presence();
    list.soon();
  },
  state: (s) => { document.body.dataset.live = s; if (s !== 'live') status(s); },
  subscribed: () => list.soon(),
});
const list = new ChatList(api, people, open);
const conversation = new Conversation(api, people, live, () => list.soon());

api.onToken = (token) => live.renew(token);
api.onSignedOut = () => { live.stop(); show(false); };

async function show(signedIn) {
  $('auth').hidden = signedIn;
  $('app').hidden = !signedIn;
  if (!signedIn) { $('login-form').querySelector('input').focus(); return; }
  const me = await whoAmI();
  $('me-name').textContent = me.display_name || me.username;
  live.start();
  await list.load();
  const wanted = new URLSearchParams(location.hash.slice(1)).get('chat');
  if (wanted && list.items.has(wanted)) await open(wanted);
}

/** The caller's profile; just after signing up the read model may not
 * have it yet, so a 404 is retried for a few seconds. */
async function whoAmI() {
  for (let i = 0; ; i++) {
    try {
      return await api.get('/v1/me');
    } catch (e) {
      if (e.status !== 404 || i >= 30) throw e;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
}

function authForm(id, run) {
  $(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    $('auth-error').textContent = '';
    try {
      await run(f);
      e.target.reset();
      await show(true);
    } catch (err) {
      $('auth-error').textContent = err.message;
    }
  });
}

authForm('login-form', (f) => api.login(f.get('username'), f.get('password')));
authForm('register-form', (f) => api.register(f.get('username'), f.get('password'), f.get('display_name')));
$('logout').addEventListener('click', () => api.logout());
$('notifications').hidden = !pushSupported();
$('notifications').addEventListener('click', () => enablePush(api).then(status, (e) => status(e.message)));
$('new-direct').addEventListener('click', () => newDirect(people, open));
$('new-group').addEventListener('click', () => newGroup(people, open));
let searchTimer;
$('search-form').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => list.search(e.target.value.trim()).catch((err) => status(err.message)), 250);
});
$('search-form').addEventListener('submit', (e) => e.preventDefault());

// A stored refresh token signs straight in.
api.refresh().then((ok) => show(ok)).catch(() => show(false));
