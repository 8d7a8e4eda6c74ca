// A socket.io-client (the npm package seed 001's clients use) that records
// every event it receives, so tests can wait for one, or check that one
// never came.
import { io } from 'socket.io-client';

export class Recorder {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = [];
    socket.onAny((name, data) => {
      this.events.push({ name, data });
      this.waiters = this.waiters.filter((w) => {
        if (w.name === name && w.match(data)) { w.ok(data); return false; }
        return true;
      });
    });
  }

  /** The first `name` event (already received or coming) that matches. */
  next(name, match = () => true, ms = 5000) {
    const seen = this.events.find((e) => e.name === name && match(e.data) && !e.taken);
    if (seen) { seen.taken = true; return Promise.resolve(seen.data); }
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${name} within ${ms} ms; got ${JSON.stringify(this.names())}`)), ms);
      this.waiters.push({ name, match, ok: (d) => { clearTimeout(timer); const e = this.events.findLast((x) => x.data === d); if (e) e.taken = true; ok(d); } });
    });
  }

  all(name) { return this.events.filter((e) => e.name === name).map((e) => e.data); }
  names() { return this.events.map((e) => e.name); }

  /** The newest stream position seen (for `auth.afterPosition`). */
  position() {
    return Math.max(0, ...this.events.map((e) => e.data?.position ?? 0));
  }

  emit(name, data) { this.socket.emit(name, data); }
  close() { this.socket.close(); }
}

/** Connect and wait for `connect` (or reject with the `connect_error`). */
export function connect(base, auth, opts = {}) {
  const socket = io(base, { auth, reconnection: false, forceNew: true, ...opts });
  const rec = new Recorder(socket);
  return new Promise((ok, fail) => {
    socket.on('connect', () => ok(rec));
    socket.on('connect_error', (e) => { socket.close(); fail(e); });
  });
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
