// Live updates over /v1/ws: subscribe, and after any drop reconnect with
// back-off and resume from the last position seen (`after_position`), so
// nothing is missed or shown twice. A renewed token is handed to the open
// socket (`auth` frame) before the old one expires. Each message received
// is acknowledged (`delivered`), so its sender sees it delivered.

export class Live {
  constructor(api, handlers) {
    this.api = api;
    this.on = handlers; // {event(frame), typing(frame), presence(frame), state(text)}
    this.position = null;
    this.socket = null;
    this.delay = 500;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.socket?.close(1000);
    this.socket = null;
  }

  renew(token) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'auth', access_token: token }));
  }

  send(frame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  // Tell the senders their message reached this device (delivery
  // receipts); the gateway coalesces acks, so one per message is fine.
  ack(f) {
    const ev = f.event;
    if (ev?.type === 'MessageSent' && ev.sender_id !== this.api.userId) {
      this.send({ type: 'delivered', chat_id: ev.chat_id, up_to_seq: ev.seq });
    }
  }

  open() {
    if (this.stopped || !this.api.access) return;
    const url = new URL('/v1/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', this.api.access);
    const ws = new WebSocket(url);
    this.socket = ws;
    ws.onopen = () => {
      this.delay = 500;
      const sub = { type: 'subscribe' };
      if (this.position !== null) sub.after_position = this.position;
      ws.send(JSON.stringify(sub));
      this.on.state('live');
    };
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data);
      if (f.type === 'subscribed') { if (this.position === null) this.position = f.position; this.on.subscribed?.(f); }
      else if (f.type === 'event') { this.position = Math.max(this.position ?? 0, f.position); this.on.event(f); this.ack(f); }
      else if (f.type === 'typing') this.on.typing(f);
      else if (f.type === 'presence') this.on.presence(f);
      else if (f.type === 'error' && f.code === 'invalid_position') this.position = null;
    };
    ws.onclose = async (e) => {
      if (this.socket !== ws) return;
      this.socket = null;
      if (this.stopped) return;
      this.on.state('reconnecting…');
      // Token expired (4001) or refused at the upgrade: refresh first.
      if (e.code === 4001 || e.code === 1006) await this.api.refresh();
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 10_000);
    };
  }
}
