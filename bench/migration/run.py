#!/usr/bin/env python3
"""lint_migration on two labelled migration sets, side by side with squawk.

    python3 bench/migration/run.py [--squawk PATH] [SET.json ...]

For each case of bench/migration/shop.json and saas.json (labelled dangerous or
safe by hand from PostgreSQL 15's lock levels, before dbopt ran on them) the
schema and data of the set are loaded into dbopt_bench_migration on the test
PostgreSQL, then:
  - dbopt: `build/dbopt call lint_migration` with the database (real sizes and
    column types); flagged = a statement whose verdict is "unsafe";
  - squawk (squawk-cli from npm, installed into ~/.cache/dbopt-bench/squawk
    when --squawk is not given): flagged = any violation other than its
    advisory rules (require-lock-timeout, require-statement-timeout, prefer-*);
  - lock truth: single transactional statements run in BEGIN ... ROLLBACK and
    pg_locks is read for that backend: dbopt's claimed lock must match;
  - runnable: dbopt's safe_script is run for real with psql ON_ERROR_STOP on a
    freshly loaded copy: it must succeed.
Needs the test services (scripts/test-services start) and build/dbopt.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSQL = "/usr/lib/postgresql/15/bin/psql"
SQUAWK_VERSION = "2.66.0"
ADVISORY = {"require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts", "prefer-bigint-over-int",
            "prefer-bigint-over-smallint", "prefer-identity", "prefer-text-field", "prefer-timestamptz",
            "ban-char-field", "require-timeout-settings"}


def env():
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts/test-services"), "env"], capture_output=True,
                         text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        line = line.replace("export ", "", 1)
        if "=" in line:
            k, v = line.split("=", 1)
            values[k] = v.strip("'\"")
    return values


def psql(url, sql, check=True):
    return subprocess.run([PSQL, "-Xq", "-At", "-v", "ON_ERROR_STOP=1", url], input=sql, capture_output=True,
                          text=True, check=check)


def squawk_binary(given):
    if given:
        return given
    prefix = os.path.expanduser("~/.cache/dbopt-bench/squawk")
    binary = os.path.join(prefix, "node_modules/.bin/squawk")
    if not os.path.exists(binary):
        os.makedirs(prefix, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", prefix, f"squawk-cli@{SQUAWK_VERSION}"], check=True)
    return binary


def reset(url, setup):
    psql(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n" + ";\n".join(setup) + ";\n")


def single_statement(sql):
    body = [l for l in sql.strip().splitlines() if l.strip() and not l.strip().startswith("--")]
    text = " ".join(body).strip()
    if text.count(";") != 1 or text.upper().startswith(("BEGIN", "VACUUM")) or "CONCURRENTLY" in text.upper():
        return None
    return text.rstrip(";")


def observed_lock(url, statement, table):
    sql = (f"BEGIN;\n{statement};\nSELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' "
           f"AND relation = to_regclass('{table}') ORDER BY array_position(ARRAY['AccessShareLock','RowShareLock',"
           "'RowExclusiveLock','ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock',"
           "'AccessExclusiveLock'], mode) DESC LIMIT 1;\nROLLBACK;\n")
    r = psql(url, sql, check=False)
    return r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""


def lock_mode(name):
    return "".join(w.capitalize() for w in name.split()) + "Lock" if name else ""


def run_set(path, url, squawk):
    data = json.load(open(path))
    name = os.path.splitext(os.path.basename(path))[0]
    rows, dbopt_ms = [], []
    for i, case in enumerate(data["cases"], 1):
        reset(url, data["setup"])
        start = time.monotonic()
        call = subprocess.run([os.path.join(ROOT, "build/dbopt"), "call", "lint_migration",
                               json.dumps({"sql": case["sql"], "database": "default"}), "--json"],
                              capture_output=True, text=True, env={**os.environ, "DATABASE_URL": url})
        dbopt_ms.append((time.monotonic() - start) * 1000)
        out = json.loads(call.stdout)
        result = out.get("structuredContent", out)
        dbopt_flag = any(s["verdict"] == "unsafe" for s in result["statements"])
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(case["sql"] + "\n")
        sq = subprocess.run([squawk, "--reporter", "json", "--pg-version", "15", f.name], capture_output=True,
                            text=True)
        os.unlink(f.name)
        violations = json.loads(sq.stdout or "[]")
        squawk_rules = sorted({v["rule_name"] for v in violations})
        squawk_flag = any(r not in ADVISORY for r in squawk_rules)
        lock_ok = None
        statement = single_statement(case["sql"])
        if statement and result["statements"]:
            claim = next(s for s in result["statements"] if s["kind"] not in ("begin", "commit"))
            table = claim["table"]
            # An index statement's lock that matters is the one on its table.
            owner = psql(url, f"SELECT indrelid::regclass FROM pg_index WHERE indexrelid = to_regclass('{table}')")
            table = owner.stdout.strip() or table
            seen = observed_lock(url, statement, table)
            # A statement PostgreSQL refuses (or a new table's own lock) has nothing to compare.
            lock_ok = None if not seen or claim["new_table"] else lock_mode(claim["lock"]) == seen
        runnable = None
        if dbopt_flag and result.get("safe_script"):
            reset(url, data["setup"])
            r = psql(url, result["safe_script"], check=False)
            runnable = r.returncode == 0
            if not runnable:
                print(f"  {name} #{i}: safe script failed: {r.stderr.strip()[:300]}", file=sys.stderr)
        rows.append({"case": i, "dangerous": case["dangerous"], "dbopt": dbopt_flag, "squawk": squawk_flag,
                     "squawk_rules": squawk_rules, "lock_ok": lock_ok, "runnable": runnable,
                     "dbopt_rules": sorted({f["rule_id"] for f in result["findings"] if f["severity"] != "info"})})
    return name, rows, dbopt_ms


def scores(rows, key):
    tp = sum(r[key] and r["dangerous"] for r in rows)
    fp = sum(r[key] and not r["dangerous"] for r in rows)
    fn = sum(not r[key] and r["dangerous"] for r in rows)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return tp, fp, fn, precision, recall


def main():
    args = sys.argv[1:]
    squawk = None
    if args[:1] == ["--squawk"]:
        squawk, args = args[1], args[2:]
    sets = args or [os.path.join(ROOT, "bench/migration", n) for n in ("shop.json", "saas.json")]
    e = env()
    base = e["DBOPT_TEST_DATABASE_URL"]
    url = base[: base.rfind("/") + 1] + "dbopt_bench_migration"
    if psql(base, "SELECT 1 FROM pg_database WHERE datname = 'dbopt_bench_migration'").stdout.strip() != "1":
        psql(base, "CREATE DATABASE dbopt_bench_migration")
    squawk = squawk_binary(squawk)
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"dbopt lint_migration vs {version}")
    for path in sets:
        name, rows, ms = run_set(path, url, squawk)
        print(f"\n{name}: {len(rows)} migrations, {sum(r['dangerous'] for r in rows)} labelled dangerous")
        print("| case | label | dbopt | squawk | squawk rules | lock claim = pg_locks | safe script runs |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            mark = lambda v: "-" if v is None else ("yes" if v else "**no**")
            print(f"| {r['case']} | {'dangerous' if r['dangerous'] else 'safe'} | "
                  f"{'flagged' if r['dbopt'] else 'ok'} | {'flagged' if r['squawk'] else 'ok'} | "
                  f"{', '.join(r['squawk_rules'])} | {mark(r['lock_ok'])} | {mark(r['runnable'])} |")
        for key in ("dbopt", "squawk"):
            tp, fp, fn, p, rc = scores(rows, key)
            print(f"{key}: precision {p:.2f}, recall {rc:.2f} (tp {tp}, false alarms {fp}, missed {fn})")
        locks = [r["lock_ok"] for r in rows if r["lock_ok"] is not None]
        runs = [r["runnable"] for r in rows if r["runnable"] is not None]
        print(f"dbopt lock claims matching pg_locks: {sum(locks)}/{len(locks)}; safe scripts that run: "
              f"{sum(runs)}/{len(runs)}; dbopt call median {sorted(ms)[len(ms) // 2]:.0f} ms (process start included)")


if __name__ == "__main__":
    main()
