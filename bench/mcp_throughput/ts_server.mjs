// Reference MCP server for bench/mcp_throughput, written with the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json): a
// high-level McpServer per session behind StreamableHTTPServerTransport on
// Node's own http module (no express), the setup of the SDK's examples.
//
// It does the same job as `dbopt serve --http`: it registers the same tools
// (names, titles, descriptions, annotations, input/output schemas) as read
// from a tools/list result that run.sh fetched from dbopt, and its cheap tool
// answers with the very result dbopt gave for the same call, so both servers
// move the same bytes. Arguments are validated by the SDK (zod), as dbopt
// validates them against its JSON Schema.
//
// Environment:
//   PORT            port to listen on (127.0.0.1 only)              required
//   TOOLS_JSON      file with a tools/list *result* ({"tools":[...]}) required
//   CALL_RESULT     file with the tools/call result to replay for CALL_TOOL
//   CALL_TOOL       name of the cheap tool (default explain_query)
//   JSON_RESPONSE   1: answer application/json (enableJsonResponse), 0: SSE

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.env.PORT);
const toolsResult = JSON.parse(readFileSync(process.env.TOOLS_JSON, 'utf8'));
const callTool = process.env.CALL_TOOL || 'explain_query';
const callResult = process.env.CALL_RESULT
  ? JSON.parse(readFileSync(process.env.CALL_RESULT, 'utf8'))
  : { content: [{ type: 'text', text: 'ok' }] };
const jsonResponse = (process.env.JSON_RESPONSE ?? '1') === '1';

// --- JSON Schema (the subset tool schemas use) -> zod, so McpServer can
// register the tools the idiomatic way and validate arguments itself. ---
function withCommon(s, js) {
  if (js.description) s = s.describe(js.description);
  return s;
}
function toZod(js) {
  if (!js || typeof js !== 'object') return z.any();
  if (js.const !== undefined) return withCommon(z.literal(js.const), js);
  if (Array.isArray(js.enum)) {
    const allStrings = js.enum.every((v) => typeof v === 'string');
    const s = allStrings && js.enum.length > 0
      ? z.enum(js.enum)
      : z.union(js.enum.map((v) => z.literal(v)).concat([z.never()]));
    return withCommon(s, js);
  }
  const alts = js.anyOf || js.oneOf;
  if (Array.isArray(alts)) {
    const parts = alts.map(toZod);
    return withCommon(parts.length === 1 ? parts[0] : z.union(parts), js);
  }
  if (Array.isArray(js.type)) {
    const nonNull = js.type.filter((t) => t !== 'null');
    let s = nonNull.length === 1
      ? toZod({ ...js, type: nonNull[0], description: undefined })
      : z.union(nonNull.map((t) => toZod({ ...js, type: t, description: undefined })));
    if (js.type.includes('null')) s = s.nullable();
    return withCommon(s, js);
  }
  let s;
  switch (js.type) {
    case 'string':
      s = z.string();
      if (js.minLength !== undefined) s = s.min(js.minLength);
      if (js.maxLength !== undefined) s = s.max(js.maxLength);
      if (js.pattern) s = s.regex(new RegExp(js.pattern));
      break;
    case 'integer':
    case 'number':
      s = js.type === 'integer' ? z.number().int() : z.number();
      if (js.minimum !== undefined) s = s.min(js.minimum);
      if (js.maximum !== undefined) s = s.max(js.maximum);
      if (js.exclusiveMinimum !== undefined) s = s.gt(js.exclusiveMinimum);
      if (js.exclusiveMaximum !== undefined) s = s.lt(js.exclusiveMaximum);
      break;
    case 'boolean':
      s = z.boolean();
      break;
    case 'null':
      s = z.null();
      break;
    case 'array':
      s = z.array(toZod(js.items));
      if (js.minItems !== undefined) s = s.min(js.minItems);
      if (js.maxItems !== undefined) s = s.max(js.maxItems);
      break;
    case 'object':
    case undefined:
      if (js.type === undefined && !js.properties) return withCommon(z.any(), js);
      s = objectShape(js);
      break;
    default:
      s = z.any();
  }
  return withCommon(s, js);
}
function shapeOf(js) {
  const required = new Set(js.required || []);
  const shape = {};
  for (const [k, v] of Object.entries(js.properties || {})) {
    let p = toZod(v);
    if (!required.has(k)) p = v.default !== undefined ? p.default(v.default) : p.optional();
    shape[k] = p;
  }
  return shape;
}
function objectShape(js) {
  let s = z.object(shapeOf(js));
  if (js.additionalProperties === false) s = s.strict();
  else if (js.additionalProperties && typeof js.additionalProperties === 'object') {
    s = s.catchall(toZod(js.additionalProperties));
  } else s = s.passthrough();
  return s;
}

function buildServer() {
  const server = new McpServer(
    { name: 'ts-sdk-reference', version: '1.0.0' },
    { capabilities: { tools: {} } },
  );
  for (const t of toolsResult.tools) {
    const config = {
      title: t.title,
      description: t.description,
      inputSchema: objectShape(t.inputSchema || { type: 'object' }),
      annotations: t.annotations,
      _meta: t._meta,
    };
    if (t.outputSchema) config.outputSchema = objectShape(t.outputSchema);
    const result = t.name === callTool
      ? callResult
      : { content: [{ type: 'text', text: `${t.name}: not part of the benchmark` }], isError: true };
    server.registerTool(t.name, config, async () => result);
  }
  return server;
}

// One McpServer + transport per session, the SDK's stateful example. Session
// mode is what both servers share: SDK 1.32 speaks up to 2025-11-25, where
// dbopt also keeps sessions (its stateless 2026-07-28 mode has no SDK peer).
const transports = new Map();

async function handle(req, res) {
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  const sid = req.headers['mcp-session-id'];
  let transport = sid ? transports.get(sid) : undefined;
  if (!transport) {
    if (sid || req.method !== 'POST') {
      res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'bad session' }, id: null }));
      return;
    }
    const body = await readJson(req);
    if (!isInitializeRequest(body)) {
      res.writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no session' }, id: null }));
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonResponse,
      onsessioninitialized: (id) => { transports.set(id, transport); },
    });
    transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
    await buildServer().connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }
  await transport.handleRequest(req, res);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) res.writeHead(500).end(String(err));
  });
});
httpServer.keepAliveTimeout = 60_000;
httpServer.listen(port, '127.0.0.1', () => {
  process.stderr.write(`ts-sdk-reference listening on 127.0.0.1:${port} (sessions, json=${jsonResponse})\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
