// @modelcontextprotocol/sdk 1.x (2025-11-25, initialize handshake) over Streamable HTTP, against the real dbopt server.
import { defineClientSuite } from '../lib/suite.mjs';

defineClientSuite({ sdk: 'v1', transport: 'http' });
