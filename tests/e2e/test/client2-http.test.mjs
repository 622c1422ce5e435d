// @modelcontextprotocol/client 2.x (2026-07-28, stateless) over Streamable HTTP, against the real dbopt server.
import { defineClientSuite } from '../lib/suite.mjs';

defineClientSuite({ sdk: 'v2', transport: 'http' });
