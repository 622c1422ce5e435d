// Raw Streamable HTTP checks against the real dbopt server: status codes and
// headers that the SDK clients hide. Each describe block starts its own
// server on a free port and stops it at the end.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { MODERN_VERSION } from '../lib/clients.mjs';
import { startHttpServer } from '../lib/harness.mjs';
import {
  MCP_ACCEPT,
  initializeBody,
  modernRequest,
  note,
  openSession,
  postMcp,
  postOversized,
  request,
  rpc,
} from '../lib/http.mjs';
import { MISSION_TOOLS } from '../lib/suite.mjs';

const T = { timeout: 60000 };

/** Asserts that the server still answers a fresh initialize. */
async function assertStillServing(server) {
  const r = await postMcp(server, initializeBody());
  assert.equal(r.status, 200, `server still serves (got ${r.status}: ${r.text.slice(0, 300)})`);
  assert.ok(r.json?.result?.serverInfo, 'initialize result');
}

describe('Streamable HTTP sessions (2025-03-26 .. 2025-11-25)', T, () => {
  let server;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('initialize answers 200 with Mcp-Session-Id and the requested version', async () => {
    for (const v of ['2025-03-26', '2025-06-18', '2025-11-25']) {
      const r = await postMcp(server, initializeBody(v));
      assert.equal(r.status, 200, `initialize ${v}: ${r.text}`);
      assert.ok(r.headers['mcp-session-id'], `initialize ${v} sets Mcp-Session-Id`);
      assert.match(r.headers['mcp-session-id'], /^[\x21-\x7E]+$/, 'session id is visible ASCII');
      assert.equal(r.json.result.protocolVersion, v, `server echoes ${v}`);
      assert.match(r.json.result.serverInfo.name, /dbopt/i);
    }
  });

  it('initialize with an unsupported version answers the latest supported one', async () => {
    const r = await postMcp(server, initializeBody('1999-01-01'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result.protocolVersion, '2025-11-25');
  });

  it('two sessions get different ids', async () => {
    const a = await openSession(server);
    const b = await openSession(server);
    assert.notEqual(a.sessionId, b.sessionId);
  });

  it('a notification is answered 202 Accepted with no body', async () => {
    const s = await openSession(server); // sends notifications/initialized, expects 202
    const r = await postMcp(server, note('notifications/cancelled', { requestId: 999999, reason: 'none' }), s.headers);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.text, '', '202 has no body');
  });

  it('a request inside the session succeeds', async () => {
    const s = await openSession(server);
    const r = await postMcp(server, rpc('tools/list'), s.headers);
    assert.equal(r.status, 200, r.text);
    const names = r.json.result.tools.map((t) => t.name);
    for (const n of MISSION_TOOLS) assert.ok(names.includes(n), n);
  });

  it('POST without Mcp-Session-Id after initialize is 400', async () => {
    const s = await openSession(server);
    const { 'mcp-session-id': _omit, ...headers } = s.headers;
    const r = await postMcp(server, rpc('tools/list'), headers);
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    // And the session itself is unharmed.
    const ok = await postMcp(server, rpc('tools/list'), s.headers);
    assert.equal(ok.status, 200);
  });

  it('an unknown session id is 404', async () => {
    const s = await openSession(server);
    const r = await postMcp(server, rpc('tools/list'), { ...s.headers, 'mcp-session-id': 'no-such-session-0000' });
    assert.equal(r.status, 404, `got ${r.status}: ${r.text}`);
  });

  it('an unsupported MCP-Protocol-Version header is 400', async () => {
    const s = await openSession(server);
    const r = await postMcp(server, rpc('tools/list'), { ...s.headers, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
  });

  it('DELETE ends the session; later requests in it are 404', async () => {
    const s = await openSession(server);
    const del = await request(server.base, { method: 'DELETE', path: '/mcp', headers: s.headers });
    assert.ok(del.status >= 200 && del.status < 300, `DELETE answered ${del.status}: ${del.text}`);
    const r = await postMcp(server, rpc('tools/list'), s.headers);
    assert.equal(r.status, 404, `request in a deleted session: got ${r.status}: ${r.text}`);
  });

  it('malformed JSON is 400 with a JSON-RPC parse error (-32700)', async () => {
    const r = await postMcp(server, '{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    if (r.json) assert.equal(r.json.error?.code, -32700, r.text);
    await assertStillServing(server);
  });

  it('the server keeps serving after all of the above', async () => {
    await assertStillServing(server);
  });
});

describe('Origin validation (DNS rebinding protection)', T, () => {
  let server;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('a foreign Origin is 403, and the server keeps serving', async () => {
    const r = await postMcp(server, initializeBody(), { origin: 'http://evil.example.com' });
    assert.equal(r.status, 403, `got ${r.status}: ${r.text}`);
    await assertStillServing(server);
  });

  it('a foreign Origin is 403 on a request inside a session too', async () => {
    const s = await openSession(server);
    const r = await postMcp(server, rpc('tools/list'), { ...s.headers, origin: 'https://attacker.test' });
    assert.equal(r.status, 403, `got ${r.status}: ${r.text}`);
  });

  it('a foreign Host with a foreign Origin is rejected (4xx)', async () => {
    const r = await postMcp(server, initializeBody(), { host: 'evil.example.com', origin: 'http://evil.example.com' });
    assert.ok(r.status >= 400 && r.status < 500, `got ${r.status}: ${r.text}`);
  });

  it('a localhost Origin is accepted', async () => {
    for (const origin of [`http://127.0.0.1:${server.port}`, `http://localhost:${server.port}`]) {
      const r = await postMcp(server, initializeBody(), { origin });
      assert.equal(r.status, 200, `${origin}: got ${r.status}: ${r.text}`);
    }
  });
});

describe('bearer token (DBOPT_HTTP_TOKEN)', T, () => {
  const token = 'e2e-secret-token-5f3a9c';
  let server;
  before(async () => {
    server = await startHttpServer({ env: { DBOPT_HTTP_TOKEN: token } });
  });
  after(async () => {
    await server?.stop();
  });

  it('a missing bearer token is 401 with WWW-Authenticate, and the server keeps serving', async () => {
    const r = await postMcp(server, initializeBody());
    assert.equal(r.status, 401, `got ${r.status}: ${r.text}`);
    assert.match(r.headers['www-authenticate'] ?? '', /^Bearer/i, 'RFC 6750: 401 carries WWW-Authenticate: Bearer');
    assert.ok(!r.text.includes(token), 'the token is not echoed');
    const ok = await postMcp(server, initializeBody(), { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
  });

  it('a wrong bearer token is 401', async () => {
    for (const auth of [`Bearer wrong`, `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, token, `Basic ${token}`]) {
      const r = await postMcp(server, initializeBody(), { authorization: auth });
      assert.equal(r.status, 401, `Authorization: ${auth.replace(token, '<token>')} got ${r.status}`);
    }
  });

  it('the right bearer token is 200, for the whole session', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const s = await openSession(server, { headers: auth });
    const r = await postMcp(server, rpc('tools/list'), s.headers);
    assert.equal(r.status, 200, r.text);
    // A valid session id does not replace the token.
    const { authorization: _a, ...noAuth } = s.headers;
    const r2 = await postMcp(server, rpc('tools/list'), noAuth);
    assert.equal(r2.status, 401, `a session request without the token: got ${r2.status}`);
  });

  it('the REST API needs the token too', async () => {
    const r = await request(server.base, { path: '/v1/tools' });
    assert.equal(r.status, 401, `GET /v1/tools without token: got ${r.status}`);
    const ok = await request(server.base, { path: '/v1/tools', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
  });
});

describe('request size limit', T, () => {
  let server;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server?.stop();
  });

  // Larger than any sane limit for a JSON-RPC message carrying SQL or a log excerpt.
  const SIZE = 16 * 1024 * 1024; // the default limit is 4 MiB (http.max_body_bytes)

  it('an oversized body (Content-Length) is 413, and the server keeps serving', async () => {
    const r = await postOversized(server.base, '/mcp', SIZE);
    await assertStillServing(server);
    assert.equal(r.status, 413, `got ${r.status}: ${r.raw}`);
  });

  // cpp-httplib 0.11 cannot bound a chunked body while reading it, so dbopt
  // refuses chunked bodies outright (411 Length Required) rather than buffer them.
  it('a chunked body is refused with 411 before it is buffered, and the server keeps serving', async () => {
    const r = await postOversized(server.base, '/mcp', SIZE, { chunked: true });
    await assertStillServing(server);
    assert.equal(r.status, 411, `got ${r.status}: ${r.raw}`);
  });

  it('an oversized REST body is 413', async () => {
    const r = await postOversized(server.base, '/v1/tools/explain_query', SIZE);
    await assertStillServing(server);
    assert.equal(r.status, 413, `got ${r.status}: ${r.raw}`);
  });
});

describe('2026-07-28 over HTTP (stateless, raw)', T, () => {
  let server;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('server/discover needs no session and lists 2026-07-28', async () => {
    const { body, headers } = modernRequest('server/discover');
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 200, r.text);
    const res = r.json.result;
    assert.equal(res.resultType, 'complete');
    assert.ok(res.supportedVersions.includes(MODERN_VERSION), JSON.stringify(res.supportedVersions));
    assert.ok(res.capabilities.tools, 'tools capability');
    assert.match(res._meta?.['io.modelcontextprotocol/serverInfo']?.name ?? '', /dbopt/i, 'serverInfo in _meta');
    assert.equal(r.headers['mcp-session-id'], undefined, 'no session id is minted');
  });

  it('tools/list without a session answers with resultType, ttlMs and cacheScope', async () => {
    const { body, headers } = modernRequest('tools/list');
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 200, r.text);
    const res = r.json.result;
    assert.equal(res.resultType, 'complete');
    assert.equal(typeof res.ttlMs, 'number');
    assert.ok(['public', 'private'].includes(res.cacheScope));
    for (const n of MISSION_TOOLS)
      assert.ok(
        res.tools.some((t) => t.name === n),
        n,
      );
  });

  it('tools/call works statelessly (validation error is an isError result)', async () => {
    const { body, headers } = modernRequest('tools/call', { name: 'explain_query', arguments: { sql: 42 } });
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result.isError, true);
    assert.equal(r.json.result.resultType, 'complete');
  });

  it('an Mcp-Method header that does not match the body is 400 HeaderMismatch (-32020)', async () => {
    const { body, headers } = modernRequest('tools/list');
    const r = await postMcp(server, body, { ...headers, 'mcp-method': 'prompts/list' });
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    assert.equal(r.json?.error?.code, -32020, r.text);
  });

  it('a missing Mcp-Name on tools/call is 400 HeaderMismatch (-32020)', async () => {
    const { body, headers } = modernRequest('tools/call', { name: 'explain_query', arguments: { sql: 'SELECT 1' } });
    delete headers['mcp-name'];
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    assert.equal(r.json?.error?.code, -32020, r.text);
  });

  it('an MCP-Protocol-Version header that differs from _meta is 400 HeaderMismatch (-32020)', async () => {
    const { body, headers } = modernRequest('tools/list');
    const r = await postMcp(server, body, { ...headers, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    assert.equal(r.json?.error?.code, -32020, r.text);
  });

  it('an unsupported version is 400 UnsupportedProtocolVersion (-32022) listing the supported ones', async () => {
    const { body, headers } = modernRequest('tools/list', {}, { version: '2099-01-01' });
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
    assert.equal(r.json?.error?.code, -32022, r.text);
    assert.ok(r.json.error.data?.supported?.includes(MODERN_VERSION), r.text);
  });

  it('an unknown method is 404 with -32601', async () => {
    const { body, headers } = modernRequest('no/such/method');
    const r = await postMcp(server, body, headers);
    assert.equal(r.status, 404, `got ${r.status}: ${r.text}`);
    assert.equal(r.json?.error?.code, -32601, r.text);
  });

  it('a foreign Origin is 403 on the modern path too', async () => {
    const { body, headers } = modernRequest('server/discover');
    const r = await postMcp(server, body, { ...headers, origin: 'http://evil.example.com' });
    assert.equal(r.status, 403, `got ${r.status}: ${r.text}`);
  });
});

describe('shutdown', T, () => {
  it('SIGTERM with no client connected exits 0 at once', async () => {
    const server = await startHttpServer();
    const t0 = Date.now();
    const r = await server.stop(10000);
    assert.deepEqual(r, { code: 0, signal: null });
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('SIGTERM exits within 5 s while a client holds an idle keep-alive connection', async () => {
    const server = await startHttpServer();
    // An HTTP/1.1 client that keeps its connection open after a request, as
    // fetch, curl and browsers do.
    const sock = net.connect(server.port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    await once(sock, 'data');
    try {
      const t0 = Date.now();
      const r = await server.stop(8000);
      const took = Date.now() - t0;
      assert.ok(took < 5000, `dbopt took ${took} ms to exit after SIGTERM (${JSON.stringify(r)})`);
      assert.deepEqual(r, { code: 0, signal: null });
    } finally {
      sock.destroy();
      await server.stop(0);
    }
  });
});

describe('REST API and health', T, () => {
  let server;
  before(async () => {
    server = await startHttpServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('GET /healthz is 200', async () => {
    const r = await request(server.base, { path: '/healthz' });
    assert.equal(r.status, 200, r.text);
  });

  it('GET /v1/tools lists the tools as JSON', async () => {
    const r = await request(server.base, { path: '/v1/tools', headers: { accept: 'application/json' } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const tools = Array.isArray(r.json) ? r.json : r.json?.tools;
    assert.ok(Array.isArray(tools), `a tools array (got ${r.text.slice(0, 300)})`);
    const names = tools.map((t) => t.name);
    for (const n of MISSION_TOOLS) assert.ok(names.includes(n), `${n} in /v1/tools`);
    const eq = tools.find((t) => t.name === 'explain_query');
    assert.equal(eq.inputSchema?.type, 'object', 'tools carry their input schema');
  });

  it('POST /v1/tools/explain_query with a body answers JSON', async () => {
    const r = await request(server.base, {
      method: 'POST',
      path: '/v1/tools/explain_query',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: { sql: 'SELECT * FROM pg_class WHERE relname = $1' },
    });
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    assert.ok(r.json && typeof r.json === 'object', `JSON body (got ${r.text.slice(0, 300)})`);
    if (r.status !== 200) {
      // Honest "not implemented yet" is the only accepted non-200 here.
      assert.match(r.text, /not implemented/i, `got ${r.status}: ${r.text.slice(0, 500)}`);
    }
  });

  it('POST /v1/tools/explain_query with a wrongly typed field is 4xx naming the field', async () => {
    const r = await request(server.base, {
      method: 'POST',
      path: '/v1/tools/explain_query',
      headers: { 'content-type': 'application/json' },
      body: { sql: 42 },
    });
    assert.ok([400, 422].includes(r.status), `got ${r.status}: ${r.text}`);
    assert.match(r.text, /\bsql\b/);
  });

  it('POST /v1/tools/{unknown} is 404', async () => {
    const r = await request(server.base, {
      method: 'POST',
      path: '/v1/tools/no_such_tool',
      headers: { 'content-type': 'application/json' },
      body: {},
    });
    assert.equal(r.status, 404, `got ${r.status}: ${r.text}`);
  });

  it('POST /v1/tools/explain_query with malformed JSON is 400', async () => {
    const r = await request(server.base, {
      method: 'POST',
      path: '/v1/tools/explain_query',
      headers: { 'content-type': 'application/json' },
      body: '{"sql": ',
    });
    assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
  });

  it('a foreign Origin is 403 on the REST API too', async () => {
    const r = await request(server.base, { path: '/v1/tools', headers: { origin: 'http://evil.example.com' } });
    assert.equal(r.status, 403, `got ${r.status}: ${r.text}`);
  });

  it('the MCP endpoint refuses a POST without the MCP Accept types', async () => {
    // Not a MUST for servers, but clients must send both types; a server that
    // answers anyway must still answer correctly. Only check it does not crash.
    const r = await request(server.base, {
      method: 'POST',
      path: '/mcp',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: initializeBody(),
    });
    assert.ok(r.status < 500, `no server error (got ${r.status})`);
    const ok = await postMcp(server, initializeBody(), { accept: MCP_ACCEPT });
    assert.equal(ok.status, 200);
  });
});
