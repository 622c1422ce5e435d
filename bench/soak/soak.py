#!/usr/bin/env python3
"""Soak: drives `dbopt serve --http` with a mix of valid, oversized and
malformed calls for a bounded time (loopback only) and records the server's
resident memory (VmRSS) warm, during and after. Memory must come back within
10% of the warm level. Prints a markdown summary; exit status 1 when a call
got no answer, a refusal was not the expected one, the server stopped, or
memory stayed high.

  python3 bench/soak/soak.py [--binary build/dbopt] [--port 55340] [--seconds 180] [--max-rounds 2000]
                             [--warm-rounds 30]
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAN = "Seq Scan on orders  (cost=0.00..1693.00 rows=100000 width=8)"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fixture(name):
    with open(os.path.join(ROOT, "tests", "fixtures", name), encoding="utf-8") as f:
        return f.read()


class Server:
    def __init__(self, port):
        self.port = port

    def post(self, path, body, content_type="application/json", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = {"Content-Type": content_type} if content_type else {}
        h.update(headers or {})
        conn.request("POST", path, body=body.encode() if isinstance(body, str) else body, headers=h)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, data

    def tool(self, name, arguments, content_type="application/json"):
        return self.post(f"/v1/tools/{name}", json.dumps(arguments), content_type)


def calls():
    """(label, function returning (status, body), expected status, text the answer must hold)."""
    big_sql = "SELECT * FROM t WHERE a IN (" + ",".join(["1"] * 600000) + ")"  # about 1.2 MB: over max_sql_bytes
    deep_sql = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    huge_body = "x" * (5 << 20)  # over http.max_body_bytes
    big_plan = fixture("plans/parallel_gather.txt")
    plan_json = fixture("plans/hash_join_batches.json")
    log = fixture("logs/django_4x.log")
    wide_plan = PLAN + "\n  Filter: (note <> '" + "n" * 500000 + "')"  # 500 KB: a big but valid plan
    mcp = {"Accept": "application/json, text/event-stream"}
    stateless_meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}
    mcp_call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "explain_query", "arguments": {"sql": big_sql}, "_meta": stateless_meta}})
    mcp_headers = dict(mcp, **{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
                               "Mcp-Name": "explain_query"})
    return [
        ("valid text plan", lambda s: s.tool("explain_query", {"plan": big_plan}), 200, "findings"),
        ("valid JSON plan", lambda s: s.tool("explain_query", {"plan": plan_json}), 200, "findings"),
        ("valid SQL", lambda s: s.tool("explain_query", {"sql": "SELECT * FROM orders WHERE customer_id = 42"}),
         200, ""),
        ("valid log", lambda s: s.tool("detect_n_plus_one", {"log": log}), 200, ""),
        ("wide plan, form-encoded", lambda s: s.tool("explain_query", {"plan": wide_plan},
                                                    "application/x-www-form-urlencoded"), 200, ""),
        ("oversized SQL field", lambda s: s.tool("explain_query", {"sql": big_sql}), 400, "limits.max_sql_bytes"),
        ("oversized SQL over MCP", lambda s: s.post("/mcp", mcp_call, headers=mcp_headers), 200,
         "limits.max_sql_bytes"),
        ("oversized body", lambda s: s.post("/v1/tools/explain_query", huge_body), 413, "http.max_body_bytes"),
        ("deep SQL", lambda s: s.tool("explain_query", {"sql": deep_sql}), 400, "limits.max_parse_depth"),
        ("deep JSON", lambda s: s.post("/v1/tools/explain_query", "[" * 100000 + "]" * 100000), 400,
         "limits.max_json_depth"),
        ("invalid JSON", lambda s: s.post("/v1/tools/explain_query", '{"plan": "x",\n "analyze": tru}'), 400,
         "line 2, column"),
        ("NaN plan", lambda s: s.tool("explain_query", {"plan": "Seq Scan on t  (cost=NaN..inf rows=1 width=4)"}),
         400, "line 1"),
        ("arrows only", lambda s: s.tool("explain_query", {"plan": "->  ->  ->"}), 400, "node name"),
        ("NUL byte", lambda s: s.tool("explain_query", {"sql": "SELECT 1\u0000; DROP TABLE t"}), 400, "NUL byte"),
        ("broken UTF-8", lambda s: s.post("/v1/tools/explain_query", b'{"sql": "SELECT \xff\xfe"}'), 400,
         "UTF-8"),
        ("truncated log", lambda s: s.tool("detect_n_plus_one", {"log": log[: len(log) // 2] + "(0.0"}), 200, ""),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "dbopt"))
    parser.add_argument("--port", type=int, default=55340)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--max-rounds", type=int, default=2000)
    parser.add_argument("--warm-rounds", type=int, default=30)
    args = parser.parse_args()

    env = dict(os.environ, DBOPT_LOG_LEVEL="warn")
    env.pop("DATABASE_URL", None)  # offline: the soak is about input, not a database
    proc = subprocess.Popen([args.binary, "serve", "--http", f"127.0.0.1:{args.port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(args.port)
    failures = []
    try:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        mix = calls()
        started = rss_kib(proc.pid)
        # Warm: the whole mix for more connections than the server has threads
        # (http.max_connections, 64; each request here is a new connection), so
        # that every thread's stack and allocator caches have been used once.
        for _ in range(args.warm_rounds):
            for label, run, status, _ in mix:
                run(server)
        time.sleep(1)
        warm = rss_kib(proc.pid)
        peak = warm
        rounds = 0
        counts = {}
        deadline = time.time() + args.seconds
        while time.time() < deadline and rounds < args.max_rounds:
            for label, run, status, text in mix:
                got, body = run(server)
                counts[label] = counts.get(label, 0) + 1
                if got != status or text.encode() not in body:
                    failures.append(f"{label}: HTTP {got}, {body[:200]!r}")
                peak = max(peak, rss_kib(proc.pid))
                if proc.poll() is not None:
                    failures.append(f"the server exited ({proc.returncode}) after {label}")
                    raise SystemExit
            rounds += 1
            if rounds % 100 == 0:  # the curve: a plateau is a working set, a line is a leak
                print(f"  round {rounds}: {rss_kib(proc.pid) / 1024:.1f} MiB", file=sys.stderr)
        time.sleep(2)
        after = rss_kib(proc.pid)
        served = server.tool("explain_query", {"plan": PLAN})[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    growth = (after - warm) / warm * 100
    print(f"| measure | value |\n| --- | --- |")
    print(f"| duration | {args.seconds} s at most, {rounds} rounds of {len(mix)} calls ({sum(counts.values())} calls) |")
    print(f"| RSS at start | {started / 1024:.1f} MiB |")
    print(f"| RSS warm (after {args.warm_rounds} rounds of the mix) | {warm / 1024:.1f} MiB |")
    print(f"| RSS peak during the soak | {peak / 1024:.1f} MiB |")
    print(f"| RSS 2 s after the last call | {after / 1024:.1f} MiB ({growth:+.1f}% of warm) |")
    print(f"| still serving afterwards | {'yes' if served else 'NO'} |")
    print(f"| unexpected answers | {len(failures)} |")
    for f in failures[:20]:
        print("  -", f, file=sys.stderr)
    ok = not failures and served and growth <= 10
    print(f"\nresult: {'PASS' if ok else 'FAIL'} (memory must return within 10% of warm)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
