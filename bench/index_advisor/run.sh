#!/usr/bin/env bash
# bench/index_advisor: dbopt's suggest_indexes against a hand-made set, Dexter and Supabase index_advisor
# on each workload folder (shop/, helpdesk/, billing/; WORKLOADS=shop,helpdesk picks).
#   BENCH_URL   superuser URL on the server to use (databases dbopt_bench_<workload> are created there); default: the test services'
#               server
#   DEXTER_DIR  an export of https://github.com/ankane/dexter (not committed here); Dexter is skipped without it
#   SUPABASE_INDEX_ADVISOR_DIR  an export of https://github.com/supabase/index_advisor (its SQL file is loaded
#               into the bench database as a plain function, then dropped); skipped without it
#   DBOPT       the dbopt binary (default build/dbopt); RUNS timed runs per query (default 3); RELOAD=1 reloads data
set -euo pipefail
cd "$(dirname "$0")"
if [[ -n "${DEXTER_DIR:-}" ]] && ! ruby -e 'require "pg"; require "pg_query"; require "slop"' 2>/dev/null; then
  echo "installing Debian's ruby, ruby-pg, ruby-pg-query, ruby-slop for Dexter" >&2
  apt-get install -y -q ruby ruby-pg ruby-pg-query ruby-slop >&2
fi
if [[ -z "${BENCH_URL:-}" ]]; then
  : "${DBOPT_TEST_DATABASE_URL:?set BENCH_URL, or start the test services and eval \"\$(scripts/test-services env)\"}"
  export BENCH_URL="${DBOPT_TEST_DATABASE_URL%/*}/dbopt_bench_advisor"
fi
exec python3 bench.py
