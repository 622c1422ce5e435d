-- wrk script for bench/mcp_throughput: POSTs one JSON-RPC request per call to
-- an MCP Streamable HTTP endpoint inside an existing session.
--
-- Environment (set by run.sh):
--   MCP_SESSION_ID  Mcp-Session-Id from the initialize that run.sh did with curl
--   MCP_METHOD      JSON-RPC method (tools/list, tools/call)
--   MCP_PARAMS      JSON text of params, or empty
--
-- Every request gets its own JSON-RPC id (the SDK routes responses by id
-- within a session, so concurrent requests must not share one). A response
-- counts as bad unless it is HTTP 200 with a JSON-RPC "result" and no
-- "error" member; done() prints machine-readable lines for run.sh.

local sid = os.getenv("MCP_SESSION_ID") or ""
local method = os.getenv("MCP_METHOD") or "tools/list"
local params = os.getenv("MCP_PARAMS") or ""

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local prefix, suffix
counter = 0
bad = 0
bytes = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
  wrk.headers["Mcp-Session-Id"] = sid
  prefix = '{"jsonrpc":"2.0","id":'
  suffix = ',"method":"' .. method .. '"'
  if params ~= "" then suffix = suffix .. ',"params":' .. params end
  suffix = suffix .. '}'
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, prefix .. (tid * 1000000000 + counter) .. suffix)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"result"', 1, true) or body:find('"error":{', 1, true) then
    bad = bad + 1
  end
  bytes = #body
end

function done(summary, latency, requests)
  local b, size = 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    size = t:get("bytes")
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d bad=%d non2xx=%d sockerr=%d body_bytes=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    b, e.status, e.connect + e.read + e.write + e.timeout, size))
end
