// Shared harness for dbopt's end-to-end tests: finds the real server binary,
// starts it (stdio parameters or `serve --http` on a free loopback port),
// waits until it answers, captures its stderr for diagnostics, and stops it.
// Nothing here is a mock: every test talks to the real `dbopt` process.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The binary under test: $DBOPT_BIN, else <repo>/build/dbopt. */
export const DBOPT_BIN = process.env.DBOPT_BIN
  ? path.resolve(process.env.DBOPT_BIN)
  : path.resolve(here, '../../../build/dbopt');

/** The test database (PostgreSQL 15 from scripts/test-services), or undefined. */
export const TEST_DB_URL = process.env.DBOPT_TEST_DATABASE_URL || undefined;

/**
 * Options for tests that need a database. Without DBOPT_TEST_DATABASE_URL they
 * are skipped, unless DBOPT_E2E_REQUIRE_DB=1 (set it in CI), where a missing
 * database is a failure instead of a silent skip.
 */
export function dbTestOptions(extra = {}) {
  if (TEST_DB_URL || process.env.DBOPT_E2E_REQUIRE_DB === '1') return extra;
  return { ...extra, skip: 'DBOPT_TEST_DATABASE_URL is not set' };
}

export function requireDb() {
  if (!TEST_DB_URL) throw new Error('DBOPT_TEST_DATABASE_URL is not set (DBOPT_E2E_REQUIRE_DB=1)');
  return TEST_DB_URL;
}

export function assertBinary() {
  if (!existsSync(DBOPT_BIN)) {
    throw new Error(`dbopt binary not found at ${DBOPT_BIN}: build it first or set DBOPT_BIN`);
  }
}

/** A free TCP port on 127.0.0.1 (the server does not support port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The environment the server runs with: the parent's, minus dbopt's own
 * variables (so a developer's DATABASE_URL or token cannot leak into a test),
 * plus `env`. A value of undefined removes the variable.
 */
export function serverEnv(env = {}) {
  const out = { ...process.env };
  for (const k of ['DATABASE_URL', 'DBOPT_HTTP_TOKEN', 'DBOPT_CONFIG']) delete out[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = String(v);
  }
  return out;
}

/** StdioServerParameters for both SDKs' StdioClientTransport. */
export function stdioParams({ env = {}, args = [] } = {}) {
  assertBinary();
  return {
    command: DBOPT_BIN,
    args: ['serve', ...args],
    // StdioClientTransport passes only a few variables unless given env.
    env: serverEnv(env),
    stderr: 'pipe',
  };
}

/** Keeps the last `limit` characters of a stream, for failure messages. */
function tail(stream, limit = 64 * 1024) {
  let buf = '';
  stream?.setEncoding?.('utf8');
  stream?.on('data', (d) => {
    buf += d;
    if (buf.length > limit) buf = buf.slice(-limit);
  });
  return () => buf;
}

/** Collects a stdio transport's server stderr (call right after connect). */
export function captureStderr(transport) {
  return tail(transport.stderr);
}

/**
 * Starts `dbopt serve --http 127.0.0.1:PORT` on a free port and waits until
 * GET /healthz answers. Retries with another port if the chosen one was taken
 * in the meantime. Returns { port, base, url, proc, stderr(), stop() }.
 */
export async function startHttpServer({ env = {}, args = [], readyTimeoutMs = 20000 } = {}) {
  assertBinary();
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn(DBOPT_BIN, ['serve', '--http', `127.0.0.1:${port}`, ...args], {
      env: serverEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = tail(proc.stderr);
    const stdout = tail(proc.stdout);
    let exited = null;
    const exitPromise = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        exited = { code, signal };
        resolve(exited);
      });
      proc.on('error', (err) => {
        exited = { code: null, signal: null, err };
        resolve(exited);
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const server = {
      port,
      base,
      url: `${base}/mcp`,
      proc,
      stderr,
      stdout,
      get exited() {
        return exited;
      },
      /**
       * SIGTERM, then SIGKILL after `graceMs`. The SDK clients' fetch keeps
       * idle keep-alive connections for a few seconds after close(), and
       * dbopt waits for idle connections before it exits (see the shutdown
       * test in http-raw.test.mjs), so the grace is kept short here.
       */
      async stop(graceMs = 3000) {
        if (exited) return exited;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        const r = await exitPromise;
        clearTimeout(t);
        return r;
      },
    };
    const deadline = Date.now() + readyTimeoutMs;
    let ready = false;
    while (Date.now() < deadline && !exited) {
      if ((await probeHealth(port)) !== null) {
        ready = true;
        break;
      }
      await sleep(50);
    }
    if (ready) return server;
    await server.stop();
    lastErr = new Error(
      `dbopt serve --http 127.0.0.1:${port} did not become ready` +
        (exited ? ` (exited ${JSON.stringify(exited)})` : ` within ${readyTimeoutMs} ms`) +
        `\n--- stderr ---\n${stderr()}`,
    );
    // Only a lost race for the port is worth another try.
    if (!/address already in use|EADDRINUSE|bind/i.test(stderr())) break;
  }
  throw lastErr;
}

/** GET /healthz on a fresh connection that is closed afterwards; the status, or null. */
function probeHealth(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Records every JSON-RPC message a transport receives and sends, without
 * changing behaviour. Call before client.connect(transport): the SDKs assign
 * transport.onmessage during connect, and the setter wraps that handler.
 */
export function tapTransport(transport) {
  const received = [];
  const sent = [];
  let handler;
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    enumerable: true,
    get() {
      return handler && ((msg, extra) => handler(msg, extra));
    },
    set(h) {
      handler = h
        ? (msg, extra) => {
            received.push({ at: Date.now(), msg });
            return h(msg, extra);
          }
        : undefined;
    },
  });
  const send = transport.send.bind(transport);
  transport.send = (msg, opts) => {
    sent.push({ at: Date.now(), msg });
    return send(msg, opts);
  };
  return { received, sent };
}

/** The text of all text content blocks of a tool or prompt result, joined. */
export function textOf(result) {
  const blocks = result?.content ?? [];
  return (Array.isArray(blocks) ? blocks : [blocks])
    .filter((b) => b && b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

/** Runs psql against the test database; undefined when psql is missing. */
export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    timeout: 10000,
  });
  if (r.error && r.error.code === 'ENOENT') return undefined;
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

/** Awaits `promise`, failing with `what` after `ms` milliseconds. */
export async function within(ms, promise, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
