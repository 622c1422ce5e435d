// Hostile input against the real dbopt server, over stdio and Streamable HTTP
// with the official SDK (v1) and over raw stdio/HTTP where the SDK cannot
// send the bytes: oversized fields and messages, deep nesting, NUL bytes,
// broken UTF-8, impossible plans, form-encoded REST bodies. Each must get a
// clear error naming the problem (and the config key for a limit), and the
// server must answer a valid call afterwards.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect } from '../lib/clients.mjs';
import { DBOPT_BIN, assertBinary, serverEnv, startHttpServer } from '../lib/harness.mjs';

const PLAN = 'Seq Scan on orders  (cost=0.00..1693.00 rows=100000 width=8)';

/** A config file with small limits, so oversized inputs stay small in the test. */
function smallLimitsConfig() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbopt-hostile-'));
  const file = path.join(dir, 'dbopt.json');
  writeFileSync(
    file,
    JSON.stringify({ http: { max_body_bytes: 131072 }, limits: { max_sql_bytes: 65536, max_message_bytes: 131072 } }),
  );
  return file;
}

const text = (result) => result.content.map((c) => c.text ?? '').join('\n');

async function assertServes(c) {
  const ok = await c.callTool({ name: 'explain_query', arguments: { plan: PLAN } });
  assert.equal(ok.isError ?? false, false, text(ok));
}

for (const transport of ['stdio', 'http']) {
  describe(`hostile tool calls over ${transport} (SDK v1)`, () => {
    let c;
    before(async () => {
      c = await connect({ sdk: 'v1', transport, env: { DBOPT_CONFIG: smallLimitsConfig() } });
    });
    after(async () => c?.close());

    it('refuses an oversized SQL argument naming limits.max_sql_bytes, then serves', async () => {
      const r = await c.callTool({ name: 'explain_query', arguments: { sql: `SELECT ${'a + '.repeat(25000)}1` } });
      assert.equal(r.isError, true);
      assert.match(text(r), /Argument `sql` is 100008 bytes; the limit is 65536 bytes \(limits\.max_sql_bytes\)/);
      await assertServes(c);
    });

    it('answers NUL bytes, impossible plans and deep SQL with clear errors', async () => {
      const nul = await c.callTool({ name: 'explain_query', arguments: { sql: 'SELECT 1\u0000; DROP TABLE t' } });
      assert.equal(nul.isError, true);
      assert.match(text(nul), /NUL byte at byte 9/);
      const nan = await c.callTool({
        name: 'explain_query',
        arguments: { plan: 'Seq Scan on t  (cost=NaN..inf rows=1 width=4)' },
      });
      assert.equal(nan.isError, true);
      assert.match(text(nan), /line 1/);
      assert.doesNotMatch(text(nan), /This is a bug/);
      const arrows = await c.callTool({ name: 'explain_query', arguments: { plan: '->  ->  ->' } });
      assert.equal(arrows.isError, true);
      assert.match(text(arrows), /expected a node name after '->'/);
      const negative = await c.callTool({
        name: 'explain_query',
        arguments: {
          plan: JSON.stringify([{ Plan: { 'Node Type': 'Result', 'Actual Total Time': -1, 'Actual Rows': -1 } }]),
        },
      });
      assert.equal(negative.isError, true);
      assert.match(text(negative), /"Actual Total Time" of plan node 0 is -1/);
      const deep = await c.callTool({ name: 'explain_query', arguments: { sql: `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}` } });
      assert.equal(deep.isError, true);
      assert.match(text(deep), /limits\.max_parse_depth/);
      await assertServes(c);
    });

    it('refuses deeply nested arguments as a protocol error naming limits.max_json_depth, then serves', async () => {
      let nested = 1;
      for (let i = 0; i < 200; i++) nested = [nested];
      await assert.rejects(c.callTool({ name: 'explain_query', arguments: { plan: PLAN, x: nested } }), /limits\.max_json_depth/);
      await assertServes(c);
    });

    it(`refuses a message over the transport's size limit, then serves`, async () => {
      // 200 KB: over limits.max_message_bytes (stdio) and http.max_body_bytes (HTTP), both 128 KiB here.
      const big = { name: 'explain_query', arguments: { plan: `${PLAN}\n  Filter: (a <> '${'x'.repeat(200000)}')` } };
      await assert.rejects(c.callTool(big), transport === 'stdio' ? /limits\.max_message_bytes/ : /413|Payload Too Large/);
      await assertServes(c);
    });
  });
}

describe('hostile bytes over raw stdio', () => {
  it('answers broken UTF-8 and garbage with one JSON error per line and keeps serving', async () => {
    assertBinary();
    const proc = spawn(DBOPT_BIN, ['serve'], { env: serverEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks = [];
    proc.stdout.on('data', (d) => chunks.push(d));
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {} } };
    proc.stdin.write(`${JSON.stringify(init)}\n`);
    proc.stdin.write(
      Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"explain_query","arguments":{"sql":"SELECT '),
        Buffer.from([0xff, 0xfe, 0xc0]),
        Buffer.from('"}}}\n'),
      ]),
    );
    proc.stdin.write(Buffer.from([0x00, 0x01, 0x02, 0x0a]));
    proc.stdin.write('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"explain_query","arguments":{"plan":"Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)"}}}\n');
    // End stdin only once the last call is answered: the server cancels calls still running at end of input.
    for (let i = 0; i < 200 && !Buffer.concat(chunks).toString('utf8').includes('"id":4'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.stdin.end();
    const code = await exited;
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.length > 0);
    const messages = lines.map((l) => JSON.parse(l)); // every line is one JSON message
    const byId = new Map(messages.map((m) => [m.id, m]));
    // Invalid JSON gets id null (JSON-RPC): one parse error for each bad line, the UTF-8 one naming it.
    const parseErrors = messages.filter((m) => m.id === null && m.error?.code === -32700);
    assert.equal(parseErrors.length, 2, JSON.stringify(messages));
    assert.ok(parseErrors.some((m) => /UTF-8/.test(m.error.message)));
    assert.ok(!byId.has(2));
    assert.equal(byId.get(4).result.isError, false);
  });
});

/** POST with raw bytes and a content type; resolves { status, body }. */
function post(base, urlPath, body, contentType) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request(
      new URL(urlPath, base),
      { method: 'POST', agent: false, headers: { 'content-type': contentType, 'content-length': payload.length } },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('hostile REST bodies', () => {
  let server;
  before(async () => {
    server = await startHttpServer({ env: { DBOPT_CONFIG: smallLimitsConfig() } });
  });
  after(async () => server?.stop());

  it('takes a JSON body sent as a form (curl -d) of any size up to http.max_body_bytes', async () => {
    const plan = `${PLAN}\n  Filter: (note <> '${'n'.repeat(50000)}')`;
    const r = await post(server.base, '/v1/tools/explain_query', JSON.stringify({ plan }), 'application/x-www-form-urlencoded');
    assert.equal(r.status, 200, r.body);
    assert.equal(typeof JSON.parse(r.body), 'object');
  });

  it('answers 413 only above http.max_body_bytes, 400 with the position for invalid JSON, and keeps serving', async () => {
    const big = await post(server.base, '/v1/tools/explain_query', 'x'.repeat(200000), 'application/x-www-form-urlencoded');
    assert.equal(big.status, 413);
    assert.match(big.body, /http\.max_body_bytes/);
    const bad = await post(server.base, '/v1/tools/explain_query', '{"plan": "x",\n "analyze": yes}', 'application/json');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /line 2, column/);
    const utf8 = await post(server.base, '/v1/tools/explain_query', Buffer.from([0x7b, 0x22, 0x73, 0x71, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'application/json');
    assert.equal(utf8.status, 400);
    assert.match(utf8.body, /UTF-8/);
    const ok = await post(server.base, '/v1/tools/explain_query', JSON.stringify({ plan: PLAN }), 'application/json');
    assert.equal(ok.status, 200, ok.body);
  });
});
