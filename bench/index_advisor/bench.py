#!/usr/bin/env python3
"""bench/index_advisor: dbopt's suggest_indexes against Dexter on one workload.

For each configuration (no indexes but primary keys, Dexter's, dbopt's):
builds the indexes for real, ANALYZEs, then measures the workload's estimated
cost (EXPLAIN, calls x Total Cost) and real time (EXPLAIN (ANALYZE, TIMING OFF)
"Execution Time", median of RUNS runs after one warm-up, calls x median).
dbopt gets Dexter's real index size as its budget (budget_mb), so it can use
no more space. Prints a markdown table. Talks to PostgreSQL through psql only.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
URL = os.environ["BENCH_URL"]
DBOPT = os.environ.get("DBOPT", os.path.join(ROOT, "build", "dbopt"))
DEXTER_DIR = os.environ.get("DEXTER_DIR", "")
SUPABASE_DIR = os.environ.get("SUPABASE_INDEX_ADVISOR_DIR", "")
RUNS = int(os.environ.get("RUNS", "3"))
WORKLOAD = json.load(open(os.path.join(HERE, "workload.json")))


def psql(sql, url=URL):
    out = subprocess.run(["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed on {sql[:200]}: {out.stderr}")
    return out.stdout.strip()


def psql_file(path, url=URL):
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", path], check=True, stdout=subprocess.DEVNULL)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def setup():
    base = URL.rsplit("/", 1)[0] + "/postgres"
    name = URL.rsplit("/", 1)[1].split("?")[0]
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", base):
        psql(f"CREATE DATABASE {name}", base)
    psql("CREATE EXTENSION IF NOT EXISTS hypopg")
    have = psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'bench_loaded'")
    if have != "1" or os.environ.get("RELOAD"):
        log("loading bench data (about a minute)")
        psql_file(os.path.join(HERE, "schema.sql"))
        psql("CREATE TABLE IF NOT EXISTS bench_loaded (at timestamptz DEFAULT now())")
    reset_indexes()


def reset_indexes():
    rows = psql("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index x "
                "JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)")
    for index in filter(None, rows.splitlines()):
        psql(f"DROP INDEX {index}")
    psql("VACUUM ANALYZE")


def index_bytes():
    return int(psql("SELECT coalesce(sum(pg_relation_size(x.indexrelid)), 0) FROM pg_index x "
                    "JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"))


def build(statements):
    for s in statements:
        psql(s.replace("CONCURRENTLY ", ""))  # nobody else uses the bench database
    psql("VACUUM ANALYZE")


def measure():
    cost = 0.0
    ms = 0.0
    per_query = []
    for q in WORKLOAD:
        plan = json.loads(psql("EXPLAIN (FORMAT JSON) " + q["sql"]))
        c = plan[0]["Plan"]["Total Cost"]
        times = []
        for i in range(RUNS + 1):
            run = json.loads(psql("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + q["sql"]))
            if i:
                times.append(run[0]["Execution Time"])
        t = statistics.median(times)
        per_query.append((c, t))
        cost += q["calls"] * c
        ms += q["calls"] * t
    return {"cost": cost, "ms": ms, "per_query": per_query}


def dexter():
    if not DEXTER_DIR:
        return None
    # Debian's ruby-pg-query 2.2.0 names string values `str`, Dexter expects pg_query 6's `sval`:
    # patch a temporary copy (never the repository).
    work = tempfile.mkdtemp(prefix="dexter-")
    shutil.copytree(DEXTER_DIR, work, dirs_exist_ok=True)
    resolver = os.path.join(work, "lib", "dexter", "column_resolver.rb")
    text = open(resolver).read()
    open(resolver, "w").write(text.replace('["String"]["sval"]', '["String"]["str"]'))
    args = ["ruby", "-I", os.path.join(work, "lib"), os.path.join(work, "exe", "dexter"), URL]
    for q in WORKLOAD:
        args += ["-s", q["sql"]]
    started = time.monotonic()
    out = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    shutil.rmtree(work)
    found = re.findall(r"Index found: (\S+) \(([^)]*)\)", out.stdout + out.stderr)
    if out.returncode != 0:
        log("dexter failed:", out.stdout, out.stderr)
    statements = [f"CREATE INDEX ON {table} ({cols})" for table, cols in found]
    return {"statements": statements, "seconds": elapsed, "log": out.stdout}


def supabase():
    """Supabase index_advisor: a plpgsql function (index_advisor--0.2.0.sql) over HypoPG, one query at a time."""
    if not SUPABASE_DIR:
        return None
    psql_file(os.path.join(SUPABASE_DIR, "index_advisor--0.2.0.sql"))
    statements = []
    started = time.monotonic()
    for q in WORKLOAD:
        out = psql("SELECT array_to_json(index_statements) FROM index_advisor($bench$" + q["sql"] + "$bench$)")
        for s in json.loads(out or "[]") or []:
            if s not in statements:
                statements.append(s)
    elapsed = time.monotonic() - started
    psql("DROP FUNCTION index_advisor(text)")
    return {"statements": statements, "seconds": elapsed}


def dbopt(budget_mb):
    args = {"queries": [{"sql": q["sql"], "calls": q["calls"]} for q in WORKLOAD], "max_indexes": 30}
    if budget_mb:
        args["budget_mb"] = budget_mb
    env = dict(os.environ, DATABASE_URL=URL)
    started = time.monotonic()
    out = subprocess.run([DBOPT, "--log-level", "error", "call", "--json", "suggest_indexes", json.dumps(args)],
                         capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        log("dbopt failed:", out.stdout, out.stderr)
        sys.exit(1)
    result = json.loads(out.stdout)
    result = result.get("structuredContent", result)
    statements = []
    for r in result["recommendations"]:
        statements.append(r["ddl"])
        if "then_drop" in r:
            statements.append(r["then_drop"])
    return {"statements": statements, "seconds": elapsed, "result": result}


def main():
    setup()
    log("measuring: primary keys only")
    base = measure()
    rows = [("primary keys only", 0, 0, base, None)]
    configs = {}

    dex = dexter()
    dex_bytes = 0
    if dex is not None:
        log("dexter:", len(dex["statements"]), "indexes in", round(dex["seconds"], 1), "s")
        build(dex["statements"])
        dex_bytes = index_bytes()
        rows.append(("Dexter", len(dex["statements"]), dex_bytes, measure(), dex["seconds"]))
        configs["Dexter"] = dex["statements"]
        reset_indexes()

    sup = supabase()
    if sup is not None:
        log("supabase index_advisor:", len(sup["statements"]), "indexes in", round(sup["seconds"], 1), "s")
        build(sup["statements"])
        rows.append(("Supabase index_advisor", len(sup["statements"]), index_bytes(), measure(), sup["seconds"]))
        configs["Supabase index_advisor"] = sup["statements"]
        reset_indexes()

    budget = dex_bytes / (1024 * 1024) if dex_bytes else 0
    mine = dbopt(budget)
    log("dbopt:", len(mine["statements"]), "statements in", round(mine["seconds"], 1), "s")
    build(mine["statements"])
    mine_bytes = index_bytes()
    rows.append(("dbopt suggest_indexes", len(mine["result"]["recommendations"]), mine_bytes, measure(), mine["seconds"]))
    configs["dbopt"] = mine["statements"]
    reset_indexes()

    print(f"| configuration | indexes | index size | est. cost (calls x cost) | est. cut | measured time (calls x ms) | measured cut | advisor time |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, size, m, secs in rows:
        cut_cost = 1 - m["cost"] / base["cost"]
        cut_ms = 1 - m["ms"] / base["ms"]
        print(f"| {name} | {n} | {size / 1048576:.1f} MB | {m['cost']:.0f} | {cut_cost:.1%} | {m['ms'] / 1000:.1f} s | {cut_ms:.1%} | "
              f"{'' if secs is None else f'{secs:.1f} s'} |")
    print()
    for name, statements in configs.items():
        print(f"{name}:")
        for s in statements:
            print(f"    {s}")
    print()
    print("dbopt budget_mb (Dexter's real size):", f"{budget:.1f}" if budget else "none (Dexter not run)")
    print("dbopt estimate: cost", f"{mine['result']['workload']['cost_before']:.0f} -> {mine['result']['workload']['cost_after']:.0f}",
          "search", json.dumps(mine["result"]["search"]))
    print()
    print("| query | calls | base ms | " + " | ".join(f"{r[0]} ms" for r in rows[1:]) + " |")
    print("|---|---|---|" + "---|" * (len(rows) - 1))
    for i, q in enumerate(WORKLOAD):
        print(f"| {i + 1} | {q['calls']} | {base['per_query'][i][1]:.2f} | " +
              " | ".join(f"{r[3]['per_query'][i][1]:.2f}" for r in rows[1:]) + " |")


if __name__ == "__main__":
    main()
