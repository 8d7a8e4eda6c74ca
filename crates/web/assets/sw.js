// The web client's service worker: shows each push notification the server
// sends (docs/push.md: one per chat and burst, with the badge), and opens
// the chat when one is clicked. It holds no data and caches nothing.

/** Title and body of a notification from its payload; what the preview
 * setting left out (sender, text) is not made up. */
function describe(n) {
  const who = n.sender_name || 'Someone';
  if (n.type === 'request') return { title: n.sender_name ? `${who} wants to chat` : 'New chat request', body: '' };
  const title = n.chat_title || n.sender_name || 'New message';
  let body = n.preview || (n.count > 1 ? `${n.count} new messages` : 'New message');
  if (n.preview && n.chat_title && n.sender_name) body = `${n.sender_name}: ${n.preview}`;
  if (n.type === 'mention') body = `@ ${body}`;
  return { title, body };
}

self.addEventListener('push', (event) => {
  let n = {};
  try { n = event.data ? event.data.json() : {}; } catch { n = {}; }
  const { title, body } = describe(n);
  const shown = self.registration.showNotification(title, {
    body,
    tag: n.chat_id || 'chat',
    renotify: true,
    icon: '/app/favicon.svg',
    data: { chat_id: n.chat_id },
  });
  const badge = 'setAppBadge' in navigator && Number.isFinite(n.badge)
    ? navigator.setAppBadge(n.badge).catch(() => {})
    : Promise.resolve();
  event.waitUntil(Promise.all([shown, badge]));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const chat = event.notification.data && event.notification.data.chat_id;
  const url = chat ? `/#chat=${chat}` : '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).origin === self.location.origin) {
        await w.navigate(url).catch(() => {});
        return w.focus();
      }
    }
    return self.clients.openWindow(url);
  })());
});
