// Raw HTTP helpers for checks the SDKs hide (status codes, headers). Uses
// node:http rather than fetch so that Host and Origin can be set freely and a
// server that answers 413 before reading the whole body is still observed.

import http from 'node:http';
import net from 'node:net';

import { MODERN_VERSION } from './clients.mjs';

/**
 * One HTTP request. Returns { status, headers, text, json, messages }:
 * json is the parsed body (for an SSE body: the last message carrying an id),
 * messages are all JSON-RPC messages of an SSE body.
 */
export function request(base, { method = 'GET', path = '/', headers = {}, body, timeoutMs = 15000 } = {}) {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn, v) => {
      if (!settled) {
        settled = true;
        fn(v);
      }
    };
    const req = http.request(
      url,
      {
        method,
        agent: false, // one connection per request, closed after it
        headers: {
          ...(payload ? { 'content-length': payload.length } : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('error', (err) => done(reject, err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          done(resolve, parseBody(res, text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    // A server may answer (413, 401) and close before it has read the whole
    // body; the response has then usually arrived already.
    req.on('error', (err) => done(reject, err));
    if (payload) {
      req.write(payload, () => req.end());
    } else {
      req.end();
    }
  });
}

function parseBody(res, text) {
  const out = { status: res.statusCode, headers: res.headers, text, json: undefined, messages: [] };
  const ct = res.headers['content-type'] ?? '';
  if (ct.includes('text/event-stream')) {
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      try {
        out.messages.push(JSON.parse(data));
      } catch {
        // not JSON: keep going
      }
    }
    out.json = [...out.messages].reverse().find((m) => m.id !== undefined) ?? out.messages.at(-1);
  } else if (text.length > 0) {
    try {
      out.json = JSON.parse(text);
    } catch {
      // not JSON
    }
  }
  return out;
}

/**
 * POSTs a body of `size` bytes over a raw socket (Content-Length, or chunked
 * when `chunked`), ignoring write errors, and resolves with the HTTP status
 * the server answered (or null if it closed without answering). A server may
 * answer 413 and close before reading the body; fetch and node:http can then
 * lose the response to EPIPE, a raw socket does not.
 */
export function postOversized(base, path, size, { headers = {}, chunked = false, timeoutMs = 30000 } = {}) {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname);
    let received = '';
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve({ status: m ? Number(m[1]) : null, raw: received.slice(0, 2000) });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => {
      received += d.toString('latin1');
      if (/\r\n\r\n/.test(received)) finish();
    });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('connect', async () => {
      const head = [
        `POST ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Content-Type: application/json',
        `Accept: ${MCP_ACCEPT}`,
        chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      // A JSON-RPC request whose params carry `size` bytes in total.
      const prefix = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"';
      const suffix = '"}}';
      const fill = size - prefix.length - suffix.length;
      const write = (buf) =>
        new Promise((r) => {
          if (finished || sock.destroyed) return r(false);
          const data = chunked
            ? Buffer.concat([Buffer.from(`${buf.length.toString(16)}\r\n`), buf, Buffer.from('\r\n')])
            : buf;
          sock.write(data, () => r(true));
        });
      sock.write(head);
      const chunk = Buffer.alloc(1 << 20, 'x');
      if (!(await write(Buffer.from(prefix)))) return;
      for (let left = fill; left > 0 && !finished; left -= chunk.length) {
        if (!(await write(left >= chunk.length ? chunk : chunk.subarray(0, left)))) return;
      }
      if (!(await write(Buffer.from(suffix)))) return;
      if (chunked && !finished && !sock.destroyed) sock.write('0\r\n\r\n');
    });
  });
}

export const MCP_ACCEPT = 'application/json, text/event-stream';

/** POSTs one JSON-RPC message to the MCP endpoint with the usual headers. */
export function postMcp(server, body, headers = {}, opts = {}) {
  return request(server.base, {
    method: 'POST',
    path: '/mcp',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body,
    ...opts,
  });
}

let nextId = 1;
export const rpc = (method, params = {}) => ({ jsonrpc: '2.0', id: nextId++, method, params });
export const note = (method, params = {}) => ({ jsonrpc: '2.0', method, params });

export function initializeBody(protocolVersion = '2025-11-25') {
  return rpc('initialize', {
    protocolVersion,
    capabilities: {},
    clientInfo: { name: 'dbopt-e2e-raw', version: '1.0.0' },
  });
}

/**
 * Runs the 2025 handshake (initialize + notifications/initialized) and
 * returns { sessionId, version, headers } where headers are the ones every
 * later request of the session needs.
 */
export async function openSession(server, { protocolVersion = '2025-11-25', headers = {} } = {}) {
  const init = await postMcp(server, initializeBody(protocolVersion), headers);
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status}: ${init.text}`);
  const sessionId = init.headers['mcp-session-id'];
  if (!sessionId) throw new Error('initialize: no Mcp-Session-Id header');
  const version = init.json?.result?.protocolVersion;
  const sessionHeaders = { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
  const ack = await postMcp(server, note('notifications/initialized'), sessionHeaders);
  if (ack.status !== 202) throw new Error(`notifications/initialized: HTTP ${ack.status}: ${ack.text}`);
  return { sessionId, version, init, headers: sessionHeaders };
}

/** The 2026-07-28 request envelope: _meta in the body plus the mirrored headers. */
export function modernRequest(method, params = {}, { version = MODERN_VERSION, name } = {}) {
  const body = rpc(method, {
    ...params,
    _meta: {
      'io.modelcontextprotocol/protocolVersion': version,
      'io.modelcontextprotocol/clientInfo': { name: 'dbopt-e2e-raw', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': {},
      ...(params._meta ?? {}),
    },
  });
  const headers = { 'mcp-protocol-version': version, 'mcp-method': method };
  const n = name ?? params.name ?? params.uri;
  if (n !== undefined) headers['mcp-name'] = n;
  return { body, headers };
}
