// Push notifications for this browser: on the person's click, ask for
// permission, register the service worker (/app/sw.js), subscribe with the
// server's VAPID key and hand the subscription to the server
// (POST /v1/me/push-subscriptions). See docs/push.md.

/** base64url → bytes, for `applicationServerKey`. */
function bytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** The worker's registration (registered if it was not), once its worker
 * is active. Its scope is /app/, so it controls no page and
 * `navigator.serviceWorker.ready` (which waits for a controlling one) would
 * never settle; push needs no control, only an active worker. */
export async function worker() {
  const registration = await navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' });
  const sw = registration.installing || registration.waiting || registration.active;
  if (sw && sw.state !== 'activated') {
    await new Promise((ok) => {
      sw.addEventListener('statechange', () => { if (sw.state === 'activated') ok(); });
    });
  }
  return registration;
}

/** `promise`, or a rejection after `ms` (a push service that never answers). */
function within(promise, ms) {
  return Promise.race([promise, new Promise((_, no) => setTimeout(() => no(new Error('no answer')), ms))]);
}

/** Turn notifications on for this browser; answers what happened, in words. */
export async function enablePush(api) {
  if (!pushSupported()) return 'This browser cannot show push notifications.';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return 'Notifications are blocked for this site.';
  const registration = await worker();
  const { public_key: key } = await api.get('/v1/push/vapid-public-key');
  let subscription;
  try {
    subscription = await registration.pushManager.getSubscription()
      ?? await within(registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) }), 8000);
  } catch (e) {
    return `This browser's push service is not reachable (${e.message}).`;
  }
  await api.post('/v1/me/push-subscriptions', { kind: 'webpush', ...subscription.toJSON() });
  return 'Notifications are on.';
}
