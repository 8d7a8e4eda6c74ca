// A real `chat serve` for the JS suites: a fresh database (chat_test_js_*,
// dropped by scripts/services clean-test-databases if a run is killed),
// port 0, JSON logs read for the bound address. Nothing is mocked.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../../..');
const bin = process.env.CHAT_BIN ?? join(root, 'target/debug/chat');
const pg = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const JWT_SECRET = 'js-tests-secret-of-at-least-32-bytes!!';

/** A fresh database name for one or more nodes sharing it. */
export function freshDatabase() {
  return `chat_test_js_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Start a node; `env` adds or overrides settings. Resolves once it listens. */
export async function startServer({ env = {}, database = freshDatabase() } = {}) {
  const media = mkdtempSync(join(tmpdir(), 'chat-js-media-'));
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: `${pg.slice(0, pg.lastIndexOf('/'))}/${database}`,
      BIND_ADDR: '127.0.0.1:0',
      JWT_SECRET,
      MEDIA_DIR: media,
      LOG_FORMAT: 'json',
      RUST_LOG: 'info,sqlx=warn',
      CHAT_ENV: 'dev',
      // Many sign-ups from one address: the per-IP auth limit is not what
      // these suites test (the Rust suite does).
      RATE_AUTH_PER_SEC: '1000',
      RATE_AUTH_BURST: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`chat serve did not start:\n${lines.join('\n')}`)), 60_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        try {
          const rec = JSON.parse(line);
          const msg = rec.fields?.message ?? rec.message;
          const addr = rec.fields?.addr ?? rec.addr;
          if (msg === 'listening' && addr) {
            clearTimeout(timer);
            ok(`http://${addr}`);
          }
        } catch { /* not JSON */ }
      });
    }
    child.on('exit', (code) => fail(new Error(`chat serve exited (${code}):\n${lines.join('\n')}`)));
  });
  return {
    url,
    database,
    logs: lines,
    async stop({ drop = true } = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.on('exit', ok));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(media, { recursive: true, force: true });
      if (drop) dropDatabase(database);
    },
  };
}

export function dropDatabase(database) {
  try {
    execFileSync('psql', ['-q', '-d', pg, '-c', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`], { stdio: 'ignore' });
  } catch { /* best effort: clean-test-databases catches the rest */ }
}
