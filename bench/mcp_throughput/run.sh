#!/usr/bin/env bash
# bench/mcp_throughput: requests/s and p50/p99 latency of `dbopt serve --http`
# against a reference server on the official TypeScript MCP SDK, in the same
# run on the same machine, over HTTP keep-alive with wrk.
#
#   bench/mcp_throughput/run.sh            # from anywhere; needs build/dbopt
#
# Environment (all optional):
#   DBOPT        path of the dbopt binary          (default <repo>/build/dbopt)
#   CALL_TOOL    tool for the cheap tools/call      (default explain_query)
#   CALL_ARGS    its arguments, JSON                (default a one-line Seq Scan plan)
#   DURATION     wrk duration of a measured run     (default 10s)
#   WARMUP       unrecorded wrk run before each     (default 2s)
#   CLIENTS      connection counts                  (default "1 16 64")
#   RAW_LOG      file to append wrk's full outputs to (default: none)
#
# Builds nothing except `npm ci` in this folder. Talks to 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DBOPT=${DBOPT:-$repo/build/dbopt}
CALL_TOOL=${CALL_TOOL:-explain_query}
CALL_ARGS=${CALL_ARGS:-'{"plan":"Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)"}'}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CLIENTS=${CLIENTS:-"1 16 64"}
PROTO=2025-11-25

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x $DBOPT ]] || die "$DBOPT not found: build dbopt first (cmake --build build)"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v node >/dev/null || die "node not found"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

work=$(mktemp -d /tmp/mcp_throughput.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_port() { # port pid name
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || { cat "$work/$3.log" >&2; die "$3 exited at start"; }
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  die "$3 did not listen on 127.0.0.1:$1 within 10 s"
}

H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')

# post NAME PORT SID BODY -> writes $work/NAME.{hdr,body}, prints the HTTP status
post() {
  local extra=()
  [[ -n $3 ]] && extra=(-H "Mcp-Session-Id: $3" -H "MCP-Protocol-Version: $PROTO")
  curl -s --max-time 10 -D "$work/$1.hdr" -o "$work/$1.body" -w '%{http_code}' \
    "${H[@]}" "${extra[@]}" "http://127.0.0.1:$2/mcp" -d "$4"
}

result_of() { node "$here/jsonrpc_result.mjs" <"$work/$1.body"; }

# session NAME PORT -> initialize + notifications/initialized, prints the session id
session() {
  local code sid
  code=$(post "$1.init" "$2" "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'$PROTO'","capabilities":{},"clientInfo":{"name":"mcp_throughput","version":"1"}}}')
  [[ $code == 200 ]] || { cat "$work/$1.init.body" >&2; die "$1: initialize answered HTTP $code"; }
  result_of "$1.init" >/dev/null || die "$1: initialize failed"
  sid=$(grep -i '^mcp-session-id:' "$work/$1.init.hdr" | head -1 | cut -d: -f2 | tr -d ' \r')
  [[ -n $sid ]] || die "$1: no Mcp-Session-Id on the initialize response"
  code=$(post "$1.initd" "$2" "$sid" '{"jsonrpc":"2.0","method":"notifications/initialized"}')
  [[ $code == 202 ]] || die "$1: notifications/initialized answered HTTP $code (want 202)"
  echo "$sid"
}

content_type() { grep -i '^content-type:' "$work/$1.hdr" | head -1 | cut -d: -f2- | tr -d ' \r'; }

call_params='{"name":"'$CALL_TOOL'","arguments":'$CALL_ARGS'}'
list_req='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
call_req='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":'$call_params'}'

# --- dbopt ---
dport=$(free_port)
"$DBOPT" serve --http "127.0.0.1:$dport" >"$work/dbopt.log" 2>&1 &
dpid=$!; pids+=("$dpid")
wait_port "$dport" "$dpid" dbopt
dsid=$(session dbopt "$dport")
[[ $(post dbopt.list "$dport" "$dsid" "$list_req") == 200 ]] || die "dbopt: tools/list not 200: $(cat "$work/dbopt.list.body")"
result_of dbopt.list >"$work/tools.json" || die "dbopt: tools/list failed"
[[ $(post dbopt.call "$dport" "$dsid" "$call_req") == 200 ]] || die "dbopt: tools/call not 200: $(cat "$work/dbopt.call.body")"
result_of dbopt.call >"$work/call.json" || die "dbopt: tools/call failed"
dtype=$(content_type dbopt.list)
case $dtype in
  application/json*) json=1 ;;
  text/event-stream*) json=0 ;;
  *) die "dbopt: unexpected Content-Type '$dtype'" ;;
esac

# --- TypeScript SDK reference, same tools, same call result, same framing ---
tport=$(free_port)
PORT=$tport TOOLS_JSON=$work/tools.json CALL_RESULT=$work/call.json CALL_TOOL=$CALL_TOOL \
  JSON_RESPONSE=$json node "$here/ts_server.mjs" >"$work/ts.log" 2>&1 &
tpid=$!; pids+=("$tpid")
wait_port "$tport" "$tpid" ts
tsid=$(session ts "$tport")
[[ $(post ts.list "$tport" "$tsid" "$list_req") == 200 ]] || die "ts: tools/list not 200"
[[ $(post ts.call "$tport" "$tsid" "$call_req") == 200 ]] || die "ts: tools/call not 200"
result_of ts.call >"$work/ts.call.json" || die "ts: tools/call failed"
ttype=$(content_type ts.list)

ntools() { result_of "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tools.length))'; }
bytes() { wc -c <"$work/$1.body" | tr -d ' '; }

echo "## Sanity (one request each, with curl)"
echo
echo "| | dbopt | TS SDK |"
echo "| --- | --- | --- |"
echo "| Content-Type | $dtype | $ttype |"
echo "| tools/list: tools, body bytes | $(ntools dbopt.list), $(bytes dbopt.list) | $(ntools ts.list), $(bytes ts.list) |"
echo "| tools/call $CALL_TOOL: body bytes | $(bytes dbopt.call) | $(bytes ts.call) |"
echo
echo "dbopt's tools/call result: \`$(head -c 300 "$work/call.json")\`"
echo
node -e '
  const fs = require("fs"), util = require("util");
  const [a, b] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  if (!util.isDeepStrictEqual(a, b)) console.log("WARNING: the TS server answers tools/call differently: " + JSON.stringify(b).slice(0, 300) + "\n");
' "$work/call.json" "$work/ts.call.json"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run_wrk PORT SID METHOD PARAMS CONNS PID -> "req/s p50_ms p99_ms failed cpu_us_per_req body_bytes"
# failed: responses that were not HTTP 200 with a JSON-RPC result, plus socket
# errors and timeouts (wrk --timeout 10s, so slow answers still count in p99).
run_wrk() {
  local threads=$(( $5 < 2 ? $5 : 2 )) out c0 c1
  MCP_SESSION_ID=$2 MCP_METHOD=$3 MCP_PARAMS=$4 \
    wrk -t"$threads" -c"$5" -d"$WARMUP" -s "$here/mcp.lua" "http://127.0.0.1:$1/mcp" >/dev/null
  c0=$(cpu_ticks "$6")
  out=$(MCP_SESSION_ID=$2 MCP_METHOD=$3 MCP_PARAMS=$4 \
    wrk -t"$threads" -c"$5" -d"$DURATION" --timeout 10s --latency -s "$here/mcp.lua" "http://127.0.0.1:$1/mcp")
  c1=$(cpu_ticks "$6")
  [[ -n ${RAW_LOG:-} ]] && echo "$out" >>"$RAW_LOG"
  echo "$out" | awk -v c="$((c1 - c0))" -v hz="$hz" '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%.0f %.2f %.2f %s %.0f %d\n", v["requests"] / (v["duration_us"] / 1e6),
      v["p50_us"] / 1000, v["p99_us"] / 1000,
      (v["bad"] + v["sockerr"]) ? v["bad"] "b+" v["sockerr"] "s" : 0,
      v["requests"] ? c * 1e6 / hz / v["requests"] : 0, v["body_bytes"] }'
}

echo "## Results (wrk -t2 -c N -d $DURATION --latency, -t1 for N=1; $WARMUP warm-up before each)"
echo
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| request | clients | dbopt req/s | dbopt p50 / p99 ms | TS SDK req/s | TS SDK p50 / p99 ms | dbopt / TS | server CPU µs/req dbopt / TS | failed dbopt / TS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for req in tools/list tools/call; do
  params=""; [[ $req == tools/call ]] && params=$call_params
  label=$req; [[ $req == tools/call ]] && label="tools/call $CALL_TOOL"
  for n in $CLIENTS; do
    read -r drps dp50 dp99 dbad dcpu _ < <(run_wrk "$dport" "$dsid" "$req" "$params" "$n" "$dpid")
    read -r trps tp50 tp99 tbad tcpu _ < <(run_wrk "$tport" "$tsid" "$req" "$params" "$n" "$tpid")
    ratio=$(awk -v a="$drps" -v b="$trps" 'BEGIN { printf (b > 0 ? "%.1fx" : "n/a"), a / b }')
    echo "| $label | $n | $drps | $dp50 / $dp99 | $trps | $tp50 / $tp99 | $ratio | $dcpu / $tcpu | $dbad / $tbad |"
  done
done
echo
echo "failed: Nb = N responses not HTTP 200 with a JSON-RPC result, Ns = N socket errors or timeouts (10 s)."
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
kill -0 "$dpid" 2>/dev/null || echo "WARNING: dbopt died during the run: $(tail -5 "$work/dbopt.log")"
kill -0 "$tpid" 2>/dev/null || echo "WARNING: the TS server died during the run: $(tail -5 "$work/ts.log")"
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -h | awk '/^Mem:/ {print $2}') RAM, Linux $(uname -r); node $(node --version), SDK $(node -p 'require("'"$here"'/node_modules/@modelcontextprotocol/sdk/package.json").version'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
