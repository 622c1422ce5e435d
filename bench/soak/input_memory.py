#!/usr/bin/env python3
"""Working memory per byte of input, the factors behind limits.max_call_memory_mb
(tools/input_limits.h): runs `dbopt call TOOL -` on SQL, a plan and a log of
growing sizes with the limits raised out of the way, and reports peak RSS
(GNU time's %M) over the same call on a tiny input, per input byte.

  python3 bench/soak/input_memory.py [--binary build/dbopt] [--sizes 262144,1048576,4194304]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sql_of(size):
    # A realistic shape for big SQL: a long IN list and many predicates.
    parts, total = [], 0
    while total < size:
        p = f"(customer_id = {total} AND status <> 'x{total}')"
        parts.append(p)
        total += len(p) + 4
    return "SELECT * FROM orders WHERE " + " OR ".join(parts)


def plan_of(size):
    line = "  ->  Index Scan using orders_pkey on orders o{i}  (cost=0.29..8.31 rows=1 width=8) (actual time=0.010..0.011 rows=1 loops=1)\n        Index Cond: (id = {i})\n"
    text = "Append  (cost=0.29..999.00 rows=100 width=8) (actual time=0.010..9.000 rows=100 loops=1)\n"
    i = 0
    while len(text) < size:
        text += line.format(i=i)
        i += 1
    return text + "Planning Time: 0.100 ms\nExecution Time: 10.000 ms\n"


def log_of(size):
    with open(os.path.join(ROOT, "tests", "fixtures", "logs", "django_4x.log"), encoding="utf-8") as f:
        sample = f.read()
    return (sample * (size // len(sample) + 1))[:size]


CASES = {
    "sql": ("explain_query", "sql", sql_of),
    "plan": ("explain_query", "plan", plan_of),
    "log": ("detect_n_plus_one", "log", log_of),
}


def peak_kib(binary, config, tool, arguments):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(arguments, f)
        path = f.name
    try:
        with open(path) as stdin:
            run = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "--config", config, "call", tool, "-"],
                                 stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, DBOPT_LOG_LEVEL="off"))
        return int(run.stderr.strip().splitlines()[-1])
    finally:
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "dbopt"))
    parser.add_argument("--sizes", default="262144,1048576,4194304")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"limits": {"max_sql_bytes": 1 << 24, "max_plan_bytes": 1 << 30, "max_log_bytes": 1 << 30,
                              "max_statements": 1000000, "max_message_bytes": 2147483647,
                              "max_call_memory_mb": 1 << 20}}, f)
        config = f.name
    print("| input | size | peak RSS | over a tiny input | bytes of memory per input byte |")
    print("| --- | --- | --- | --- | --- |")
    for kind, (tool, field, make) in CASES.items():
        base = peak_kib(args.binary, config, tool, {field: make(100)})
        for size in sizes:
            peak = peak_kib(args.binary, config, tool, {field: make(size)})
            print(f"| {kind} ({tool} `{field}`) | {size / 1048576:.2f} MiB | {peak / 1024:.0f} MiB | "
                  f"{(peak - base) / 1024:.0f} MiB | {(peak - base) * 1024 / size:.1f} |")
            sys.stdout.flush()
    os.unlink(config)


if __name__ == "__main__":
    main()
