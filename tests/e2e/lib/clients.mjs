// Connects the official MCP TypeScript SDK clients to a real dbopt server:
//   v1 = @modelcontextprotocol/sdk 1.32 (initialize handshake, up to 2025-11-25)
//   v2 = @modelcontextprotocol/client 2.x pinned to 2026-07-28 (stateless,
//        server/discover, per-request _meta)
// over stdio or Streamable HTTP. Each returns a small adapter that hides only
// the differences in call signatures, so one suite of checks serves all four.

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';

import { captureStderr, startHttpServer, stdioParams, tapTransport } from './harness.mjs';

export const MODERN_VERSION = '2026-07-28';
export const LEGACY_LATEST_VERSION = '2025-11-25';

const clientInfo = { name: 'dbopt-e2e', version: '1.0.0' };

/**
 * Starts what the transport needs (an HTTP server, or nothing for stdio, where
 * the transport spawns the server) and connects a client.
 * Returns { sdk, transportKind, client, transport, tap, server?, stderr(),
 *           callTool(params, opts), close() }.
 */
export async function connect({ sdk, transport: kind, env = {}, connectTimeoutMs = 20000 }) {
  let server;
  let transport;
  if (kind === 'http') {
    server = await startHttpServer({ env });
    const url = new URL(server.url);
    transport = sdk === 'v1' ? new HttpV1(url) : new HttpV2(url);
  } else if (kind === 'stdio') {
    const params = stdioParams({ env });
    transport = sdk === 'v1' ? new StdioV1(params) : new StdioV2(params);
  } else {
    throw new Error(`unknown transport ${kind}`);
  }

  const client =
    sdk === 'v1'
      ? new ClientV1(clientInfo, { capabilities: {} })
      : new ClientV2(clientInfo, {
          capabilities: {},
          versionNegotiation: { mode: { pin: MODERN_VERSION }, probe: { timeoutMs: 10000 } },
        });

  const tap = tapTransport(transport);
  let stderr = () => server?.stderr() ?? '';
  if (kind === 'stdio') {
    // The stderr stream exists as soon as the transport is constructed
    // (a PassThrough), so nothing the server logs during connect is lost.
    const s = captureStderr(transport);
    stderr = s;
  }
  try {
    await client.connect(transport, { timeout: connectTimeoutMs });
  } catch (err) {
    const logs = stderr();
    await client.close().catch(() => {});
    await server?.stop();
    err.message += `\n--- server stderr ---\n${logs}`;
    throw err;
  }

  return {
    sdk,
    transportKind: kind,
    client,
    transport,
    tap,
    server,
    stderr,
    callTool(params, opts = {}) {
      return sdk === 'v1' ? client.callTool(params, undefined, opts) : client.callTool(params, opts);
    },
    async close() {
      await client.close().catch(() => {});
      await server?.stop();
    },
  };
}
