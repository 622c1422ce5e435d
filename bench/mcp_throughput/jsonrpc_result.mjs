// Reads one HTTP response body of an MCP Streamable HTTP server on stdin
// (application/json, or text/event-stream with one "data:" JSON-RPC message),
// prints its "result" as JSON, and exits 1 if there is none (error or junk).
import { readFileSync } from 'node:fs';

const text = readFileSync(0, 'utf8');
let msg;
try {
  msg = JSON.parse(text);
} catch {
  const data = text.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean);
  try { msg = JSON.parse(data[data.length - 1]); } catch { msg = undefined; }
}
if (!msg || msg.jsonrpc !== '2.0' || msg.result === undefined) {
  process.stderr.write(`not a JSON-RPC result: ${text.slice(0, 500)}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify(msg.result));
