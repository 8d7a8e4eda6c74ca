// The web client's service worker: shows each push notification the server
// sends (docs/push.md: one per chat and burst, with the badge), and opens
// the chat when one is clicked. It holds no data and caches nothing.

self.addEventListener('push', (event) => {
  let n = {};
  try { n = event.data ? event.data.json() : {}; } catch { n = {}; }
  // The server words every alert (chat_domain::push::alert), so a browser
  // and a phone say the same thing.
  const shown = self.registration.showNotification(n.title || 'New message', {
    body: n.body || '',
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
