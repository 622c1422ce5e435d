#!/usr/bin/env bash
# bench/nplusone: detect_n_plus_one on a >= 1 GB PostgreSQL stderr log, beside pgbadger on the same log.
#
# Usage: bench/nplusone/run.sh [SIZE_MB]   (default 1024; needs build/dbopt and the test services:
#   scripts/test-services start; eval "$(scripts/test-services env)")
# 1. runs the Django test site (tests/django: shop and blog) against the test PostgreSQL, so the
#    server logs what the real ORM ran (stderr, prefix '%m [%p] user=%u,db=%d,app=%a,session=%c ');
#    the 4-thread pass is the one scaled;
# 2. scales that log up by replaying its sessions (bench/nplusone/scale_log.py): SIZE_MB and a
#    quarter of it, to show that memory does not grow with the log;
# 3. measures wall time, CPU time and peak RSS (/usr/bin/time -v) of `dbopt call detect_n_plus_one`
#    on both, and of pgbadger (installed with apt when missing; one job, -j 1) on the big one.
# KEEP_LOGS=1 reuses the logs of an earlier run; PGBADGER_ON=quarter runs pgbadger on the quarter-size
# log only (it takes about 16 minutes per GiB on this machine). Logs are written under ${DBOPT_BENCH_DIR:-/tmp/dbopt-bench-nplusone}, never into the repository.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE_MB=${1:-1024}
WORK=${DBOPT_BENCH_DIR:-/tmp/dbopt-bench-nplusone}
PREFIX='%m [%p] user=%u,db=%d,app=%a,session=%c '
: "${DBOPT_TEST_DATABASE_URL:?start the test services and eval \"\$(scripts/test-services env)\" first}"
[[ -x $ROOT/build/dbopt ]] || { echo "build dbopt first: bash scripts/build release dbopt" >&2; exit 1; }
mkdir -p "$WORK"

if [[ ${KEEP_LOGS:-0} == 1 && -s $WORK/big.log && -s $WORK/quarter.log ]]; then
  echo "reusing $WORK/big.log and $WORK/quarter.log (KEEP_LOGS=1)"
else
  /usr/bin/python3 "$ROOT/tests/django/run_handlers.py" "$WORK/run" >/dev/null
  log=$WORK/run/threads/postgres.log  # the 4-thread pass: sessions interleave, as on a busy server
  [[ -s $log ]] || { echo "the server log was not readable: $(cat "$WORK/run/run.json")" >&2; exit 1; }
  /usr/bin/python3 "$ROOT/bench/nplusone/scale_log.py" "$log" "$WORK/big.log" "$SIZE_MB"
  /usr/bin/python3 "$ROOT/bench/nplusone/scale_log.py" "$log" "$WORK/quarter.log" $((SIZE_MB / 4))
fi

if ! command -v pgbadger >/dev/null; then
  apt-get install -y -q pgbadger >/dev/null
fi

# measure NAME LOG COMMAND...: one row of the table.
measure() {
  local name=$1 log=$2
  shift 2
  sync
  /usr/bin/time -v "$@" >"$WORK/$name.out" 2>"$WORK/$name.time" || { cat "$WORK/$name.time" >&2; exit 1; }
  /usr/bin/python3 - "$name" "$log" "$WORK/$name.time" <<'PY'
import os, re, sys
name, log, path = sys.argv[1:]
fields = {}
for line in open(path):
    key, _, value = line.strip().rpartition(": ")
    fields[key] = value
parts = [float(p) for p in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
wall_s = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
cpu_s = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
rss_mb = int(fields["Maximum resident set size (kbytes)"]) / 1024
mb = os.path.getsize(log) / 1048576
print("| %-14s | %7.0f | %7.2f | %7.2f | %8.1f | %8.1f | %7.1f |" % (name, mb, wall_s, cpu_s, mb / wall_s, mb / cpu_s, rss_mb))
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| tool           | log MB  | wall s  | CPU s   | MB/s wall | MB/s CPU | peak RSS MB |"
echo "|----------------|---------|---------|---------|-----------|----------|-------------|"
args() { printf '{"log_path": "%s", "format": "postgres_stderr"}' "$1"; }
measure dbopt-quarter "$WORK/quarter.log" "$ROOT/build/dbopt" call detect_n_plus_one "$(args "$WORK/quarter.log")"
measure dbopt "$WORK/big.log" "$ROOT/build/dbopt" call detect_n_plus_one "$(args "$WORK/big.log")"
pgbadger_log=$WORK/${PGBADGER_ON:-big}.log
measure pgbadger "$pgbadger_log" pgbadger -q -j 1 -f stderr --prefix "$PREFIX" -o "$WORK/pgbadger.html" "$pgbadger_log"
grep -m1 "^Read" "$WORK/dbopt.out"
