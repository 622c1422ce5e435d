#!/usr/bin/env python3
"""bench/index_advisor: dbopt's suggest_indexes against Dexter, Supabase index_advisor and a
hand-made index set, on each workload folder (shop/, helpdesk/, billing/: schema.sql, workload.json, and
optionally handmade.sql).

For each configuration (primary keys only, hand-made, Dexter's, Supabase's, dbopt's with its
defaults): builds the indexes for real, VACUUM ANALYZEs, then measures the workload's estimated
cost (EXPLAIN, calls x Total Cost) and real time (EXPLAIN (ANALYZE, TIMING OFF) "Execution
Time", median of RUNS runs after one warm-up, calls x median; writes run inside a transaction
that is rolled back). Prints markdown tables. Talks to PostgreSQL through psql only.
WORKLOADS=shop,helpdesk picks the folders (default: every folder with a workload.json).
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
BASE_URL = os.environ["BENCH_URL"].rsplit("/", 1)[0]
URL = ""  # the current workload's database
DBOPT = os.environ.get("DBOPT", os.path.join(ROOT, "build", "dbopt"))
DEXTER_DIR = os.environ.get("DEXTER_DIR", "")
SUPABASE_DIR = os.environ.get("SUPABASE_INDEX_ADVISOR_DIR", "")
RUNS = int(os.environ.get("RUNS", "3"))
WORKLOAD = []
FOLDER = ""


def psql(sql, url=None, rolled_back=False):
    commands = ["-c", "BEGIN", "-c", sql, "-c", "ROLLBACK"] if rolled_back else ["-c", sql]
    out = subprocess.run(["psql", url or URL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *commands],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed on {sql[:200]}: {out.stderr}")
    return out.stdout.strip()


def psql_file(path, url=None):
    subprocess.run(["psql", url or URL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", path], check=True, stdout=subprocess.DEVNULL)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def setup():
    base = URL.rsplit("/", 1)[0] + "/postgres"
    name = URL.rsplit("/", 1)[1].split("?")[0]
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", base):
        psql(f"CREATE DATABASE {name}", base)
    psql("CREATE EXTENSION IF NOT EXISTS hypopg")
    psql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    have = psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'bench_loaded'")
    if have != "1" or os.environ.get("RELOAD"):
        log("loading bench data for", os.path.basename(FOLDER), "(a few minutes)")
        psql_file(os.path.join(FOLDER, "schema.sql"))
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


def writes(sql):
    return re.match(r"\s*(insert|update|delete)\b", sql, re.I) is not None


def measure():
    cost = 0.0
    ms = 0.0
    per_query = []
    for q in WORKLOAD:
        plan = json.loads(psql("EXPLAIN (FORMAT JSON) " + q["sql"]))
        c = plan[0]["Plan"]["Total Cost"]
        times = []
        for i in range(RUNS + 1):
            run = json.loads(psql("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + q["sql"], rolled_back=writes(q["sql"])))
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
        try:
            out = psql("SELECT array_to_json(index_statements) FROM index_advisor($bench$" + q["sql"] + "$bench$)")
        except RuntimeError as e:  # it takes SELECTs only
            log("supabase index_advisor skipped a statement:", str(e).splitlines()[-1][:200])
            continue
        for s in json.loads(out or "[]") or []:
            if s not in statements:
                statements.append(s)
    elapsed = time.monotonic() - started
    psql("DROP FUNCTION index_advisor(text)")
    return {"statements": statements, "seconds": elapsed}


def handmade():
    path = os.path.join(FOLDER, "handmade.sql")
    if not os.path.exists(path):
        return None
    text = re.sub(r"--[^\n]*", "", open(path).read())
    return [s.strip() for s in text.split(";") if s.strip()]


def dbopt():
    """suggest_indexes with its defaults: the workload and its call counts, nothing else."""
    args = {"queries": [{"sql": q["sql"], "calls": q["calls"]} for q in WORKLOAD]}
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
        if r.get("requires_extension"):
            statements.append(f"CREATE EXTENSION IF NOT EXISTS {r['requires_extension']}")
        statements.append(r["ddl"])
        if "then_drop" in r:
            statements.append(r["then_drop"])
    return {"statements": statements, "seconds": elapsed, "result": result}


def run_workload():
    setup()
    log("measuring: primary keys only")
    base = measure()
    rows = [("primary keys only", 0, 0, base, None)]
    configs = {}

    def measure_set(name, statements, seconds, count=None):
        build(statements)
        rows.append((name, len(statements) if count is None else count, index_bytes(), measure(), seconds))
        configs[name] = statements
        reset_indexes()

    hand = handmade()
    if hand is not None:
        log("hand-made:", len(hand), "indexes")
        measure_set("hand-made", hand, None)
    dex = dexter()
    if dex is not None:
        log("dexter:", len(dex["statements"]), "indexes in", round(dex["seconds"], 1), "s")
        measure_set("Dexter", dex["statements"], dex["seconds"])
    sup = supabase()
    if sup is not None:
        log("supabase index_advisor:", len(sup["statements"]), "indexes in", round(sup["seconds"], 1), "s")
        measure_set("Supabase index_advisor", sup["statements"], sup["seconds"])
    mine = dbopt()
    log("dbopt:", len(mine["statements"]), "statements in", round(mine["seconds"], 1), "s")
    measure_set("dbopt suggest_indexes (defaults)", mine["statements"], mine["seconds"],
                len(mine["result"]["recommendations"]))

    print(f"### {os.path.basename(FOLDER)}: {len(WORKLOAD)} statements")
    print()
    print("| configuration | indexes | index size | est. cost (calls x cost) | est. cut | measured time (calls x ms) | measured cut | advisor time |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, size, m, secs in rows:
        cut_cost = 1 - m["cost"] / base["cost"]
        cut_ms = 1 - m["ms"] / base["ms"]
        print(f"| {name} | {n} | {size / 1048576:.1f} MB | {m['cost']:.0f} | {cut_cost:.1%} | {m['ms'] / 1000:.1f} s | {cut_ms:.1%} | "
              f"{'' if secs is None else f'{secs:.1f} s'} |")
    hand_row = next((r for r in rows if r[0] == "hand-made"), None)
    if hand_row:
        mine_row = rows[-1]
        cut = lambda r: 1 - r[3]["ms"] / base["ms"]
        print()
        print(f"dbopt reaches {cut(mine_row) / cut(hand_row):.1%} of the hand-made set's measured cut "
              f"at {mine_row[2] / max(hand_row[2], 1):.0%} of its size.")
    print()
    for name, statements in configs.items():
        print(f"{name}:")
        for s in statements:
            print(f"    {s}")
    print()
    print("dbopt estimate: cost", f"{mine['result']['workload']['cost_before']:.0f} -> {mine['result']['workload']['cost_after']:.0f}",
          "search", json.dumps(mine["result"]["search"]))
    print()
    print("| query | calls | base ms | " + " | ".join(f"{r[0]} ms" for r in rows[1:]) + " |")
    print("|---|---|---|" + "---|" * (len(rows) - 1))
    for i, q in enumerate(WORKLOAD):
        print(f"| {i + 1} | {q['calls']} | {base['per_query'][i][1]:.2f} | " +
              " | ".join(f"{r[3]['per_query'][i][1]:.2f}" for r in rows[1:]) + " |")
    print()
    sys.stdout.flush()


def main():
    global URL, WORKLOAD, FOLDER
    names = os.environ.get("WORKLOADS", "")
    folders = [n for n in names.split(",") if n] or sorted(
        d for d in os.listdir(HERE) if os.path.exists(os.path.join(HERE, d, "workload.json")))
    for name in folders:
        FOLDER = os.path.join(HERE, name)
        WORKLOAD = json.load(open(os.path.join(FOLDER, "workload.json")))
        URL = f"{BASE_URL}/dbopt_bench_{name}"
        run_workload()


if __name__ == "__main__":
    main()
