#!/usr/bin/env python3
"""Captures the big plan for the explain_analysis benchmark from the test database.

A real EXPLAIN (ANALYZE, BUFFERS, SETTINGS, FORMAT JSON) of a UNION ALL of
ARMS select_related-style lookups (orders joined to their customer, one
customer per arm) on the seeded dbopt_test database: each arm is a Nested
Loop over an Index Scan on customers and a Bitmap Heap Scan on orders with
its Bitmap Index Scan, so the plan has 4 x ARMS + 1 nodes under the Append.
The shape and the row counts are deterministic (seeded data); the timings are
whatever the run measured.

Usage: capture_plan.py OUT.json [ARMS]   (ARMS defaults to 1250: 5,001 nodes)
Needs DBOPT_TEST_DATABASE_URL: eval "$(bash scripts/test-services env)".
"""
import json
import os
import subprocess
import sys


def count_nodes(node):
    return 1 + sum(count_nodes(child) for child in node.get("Plans", []))


def main():
    out = sys.argv[1]
    arms = int(sys.argv[2]) if len(sys.argv) > 2 else 1250
    url = os.environ.get("DBOPT_TEST_DATABASE_URL")
    if not url:
        sys.exit("capture_plan.py: DBOPT_TEST_DATABASE_URL is not set; run: eval \"$(bash scripts/test-services env)\"")
    # Customer ids spread over the table (a fixed stride), so arms differ in rows.
    arm = ("SELECT o.id, o.status, o.total_cents, c.email FROM orders o "
           "JOIN customers c ON c.id = o.customer_id WHERE o.customer_id = {}")
    query = "\nUNION ALL\n".join(arm.format(1 + (i * 17) % 30000) for i in range(arms))
    psql = os.environ.get("PSQL", "/usr/lib/postgresql/15/bin/psql")
    result = subprocess.run(
        [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url],
        input="SET max_parallel_workers_per_gather = 0;\nSET jit = off;\n"
              "EXPLAIN (ANALYZE, BUFFERS, SETTINGS, FORMAT JSON)\n" + query + ";\n",
        check=True, capture_output=True, text=True)
    text = result.stdout
    plan = json.loads(text)
    nodes = count_nodes(plan[0]["Plan"])
    with open(out, "w") as f:
        f.write(text)
    print(f"{out}: {nodes} nodes, {len(text)} bytes", file=sys.stderr)
    if nodes < 5000:
        sys.exit(f"capture_plan.py: only {nodes} nodes; raise ARMS")


if __name__ == "__main__":
    main()
