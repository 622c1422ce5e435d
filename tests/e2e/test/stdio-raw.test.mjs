// Raw stdio checks against the real dbopt server: framing (one JSON message
// per line, nothing else on stdout), version negotiation, JSON-RPC errors and
// exit on end of input.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { MODERN_VERSION } from '../lib/clients.mjs';
import { DBOPT_BIN, assertBinary, serverEnv, within } from '../lib/harness.mjs';

/** A dbopt stdio process with line-based request/response helpers. */
function startStdio() {
  assertBinary();
  const proc = spawn(DBOPT_BIN, ['serve'], { env: serverEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) w();
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let nextId = 1;
  return {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    send(obj) {
      proc.stdin.write(`${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n`);
    },
    /** Waits for the response whose id is `id`. */
    async response(id, ms = 10000) {
      const parse = (l) => {
        try {
          return JSON.parse(l);
        } catch {
          return undefined;
        }
      };
      const find = () =>
        lines.map(parse).find((m) => m && m.id === id && (m.result !== undefined || m.error !== undefined));
      return within(
        ms,
        new Promise((resolve) => {
          const check = () => {
            const m = find();
            if (m) {
              const i = waiters.indexOf(check);
              if (i >= 0) waiters.splice(i, 1);
              resolve(m);
            }
          };
          waiters.push(check);
          check();
        }),
        `response to id ${JSON.stringify(id)} (stderr: ${stderr.slice(-2000)})`,
      );
    },
    async request(method, params = {}) {
      const id = nextId++;
      this.send({ jsonrpc: '2.0', id, method, params });
      return this.response(id);
    },
    async stop() {
      proc.stdin.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

const init = (protocolVersion) => ({
  protocolVersion,
  capabilities: {},
  clientInfo: { name: 'dbopt-e2e-raw', version: '1.0.0' },
});

describe('stdio: 2025 era, raw', { timeout: 60000 }, () => {
  let s;
  before(() => {
    s = startStdio();
  });
  after(async () => {
    await s?.stop();
  });

  it('initialize echoes 2025-03-26 and answers with serverInfo and capabilities', async () => {
    const r = await s.request('initialize', init('2025-03-26'));
    assert.equal(r.jsonrpc, '2.0');
    assert.equal(r.result.protocolVersion, '2025-03-26');
    assert.match(r.result.serverInfo.name, /dbopt/i);
    assert.ok(r.result.capabilities.tools);
    s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });

  it('ping answers an empty result', async () => {
    const r = await s.request('ping');
    assert.deepEqual(r.result, {});
  });

  it('an unknown method is -32601', async () => {
    const r = await s.request('no/such/method');
    assert.equal(r.error?.code, -32601, JSON.stringify(r));
  });

  it('a line that is not JSON is -32700 with id null, and the server goes on', async () => {
    s.send('{"jsonrpc": "2.0", "id": 77, "method": ');
    const r = await s.response(null);
    assert.equal(r.error.code, -32700);
    const ok = await s.request('ping');
    assert.deepEqual(ok.result, {});
  });

  it('a request without jsonrpc "2.0" is -32600', async () => {
    s.send({ id: 'bad-1', method: 'ping' });
    const r = await s.response('bad-1');
    assert.equal(r.error?.code, -32600, JSON.stringify(r));
  });

  it('tools/call of an unknown tool is -32602', async () => {
    const r = await s.request('tools/call', { name: 'no_such_tool', arguments: {} });
    assert.equal(r.error?.code, -32602, JSON.stringify(r));
  });

  it('stdout carries only JSON-RPC messages, one per line', async () => {
    assert.ok(s.lines.length >= 6);
    for (const line of s.lines) {
      assert.ok(line.length > 0, 'no empty lines');
      const m = JSON.parse(line);
      assert.equal(m.jsonrpc, '2.0', line);
    }
  });
});

describe('stdio: version negotiation and lifecycle', { timeout: 60000 }, () => {
  it('an unsupported requested version is answered with 2025-11-25', async () => {
    const s = startStdio();
    try {
      const r = await s.request('initialize', init('1999-01-01'));
      assert.equal(r.result.protocolVersion, '2025-11-25');
    } finally {
      await s.stop();
    }
  });

  it('2025-06-18 and 2025-11-25 are echoed', async () => {
    for (const v of ['2025-06-18', '2025-11-25']) {
      const s = startStdio();
      try {
        const r = await s.request('initialize', init(v));
        assert.equal(r.result.protocolVersion, v);
      } finally {
        await s.stop();
      }
    }
  });

  it('2026-07-28: server/discover and tools/list without initialize', async () => {
    const s = startStdio();
    const meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
      'io.modelcontextprotocol/clientInfo': { name: 'dbopt-e2e-raw', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    try {
      const d = await s.request('server/discover', { _meta: meta });
      assert.ok(d.result, JSON.stringify(d));
      assert.equal(d.result.resultType, 'complete');
      assert.ok(d.result.supportedVersions.includes(MODERN_VERSION));
      const t = await s.request('tools/list', { _meta: meta });
      assert.ok(Array.isArray(t.result?.tools), JSON.stringify(t).slice(0, 500));
      assert.equal(t.result.resultType, 'complete');
      const bad = await s.request('tools/list', {
        _meta: { ...meta, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
      });
      assert.equal(bad.error?.code, -32022, `unsupported version: ${JSON.stringify(bad)}`);
      assert.ok(bad.error.data?.supported?.includes(MODERN_VERSION));
    } finally {
      await s.stop();
    }
  });

  it('the server exits when its input closes', async () => {
    const s = startStdio();
    await s.request('initialize', init('2025-11-25'));
    s.proc.stdin.end();
    const r = await within(5000, s.exited, 'exit after end of input');
    assert.equal(r.code, 0, `exit code (stderr: ${s.stderr().slice(-1000)})`);
  });
});
