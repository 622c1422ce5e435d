#!/usr/bin/env bash
# bench/explain_analysis/run.sh: explain_query's analysis speed and peak memory
# (issue 3), each figure next to its anchor measured in the same run.
#
#   bash scripts/test-services start && eval "$(bash scripts/test-services env)"
#   bench/explain_analysis/run.sh        # prints markdown; about a minute
#
# 1. gen_corpus.py writes the 10,000-query ORM corpus (deterministic).
# 2. capture_plan.py captures a real 5,001-node EXPLAIN (ANALYZE, BUFFERS,
#    SETTINGS, FORMAT JSON) plan from the test database.
# 3. Runs each mode of explain_analysis_bench ROUNDS times (each its own
#    process, so peak RSS is the mode's own) and keeps the round with the
#    median time.
#
# Environment: BENCH (the binary; default build/explain_analysis_bench),
# ROUNDS (3), SQL_PASSES (5), PLAN_RUNS (10), WORK (scratch directory).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=${BENCH:-$ROOT/build/explain_analysis_bench}
ROUNDS=${ROUNDS:-3}
SQL_PASSES=${SQL_PASSES:-5}
PLAN_RUNS=${PLAN_RUNS:-10}
WORK=${WORK:-$(mktemp -d)}
RULES=$ROOT/knowledge/rules

[[ -x $BENCH ]] || { echo "run.sh: no benchmark binary at $BENCH (build target explain_analysis_bench, or set BENCH)" >&2; exit 1; }
[[ -n ${DBOPT_TEST_DATABASE_URL:-} ]] || { echo "run.sh: DBOPT_TEST_DATABASE_URL is not set: eval \"\$(bash scripts/test-services env)\"" >&2; exit 1; }

python3 "$HERE/gen_corpus.py" 10000 >"$WORK/corpus.sql"
python3 "$HERE/capture_plan.py" "$WORK/big_plan.json"

# median_round MODE INPUT REPEAT: the JSON line of the round with the median time.
median_round() {
  local mode=$1 input=$2 repeat=$3
  for ((i = 0; i < ROUNDS; i++)); do
    "$BENCH" "$mode" "$input" --rules "$RULES" --repeat "$repeat"
  done | python3 -c '
import json, sys
rounds = sorted((json.loads(l) for l in sys.stdin), key=lambda r: r["median_ms"])
print(json.dumps(rounds[len(rounds) // 2]))'
}

results=$WORK/results.jsonl
: >"$results"
for mode in sql-floor sql-floor-protobuf sql-floor-json sql-parse sql; do median_round "$mode" "$WORK/corpus.sql" "$SQL_PASSES" >>"$results"; done
for mode in plan-floor plan-dom plan plan-tool; do median_round "$mode" "$WORK/big_plan.json" "$PLAN_RUNS" >>"$results"; done

python3 - "$results" <<'EOF'
import json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[:3]
print(f"Machine: {nproc} cores, {cpu}; load average {' '.join(load)} when the table was printed.\n")
sql = [r for r in rows if r["mode"].startswith("sql")]
plan = [r for r in rows if r["mode"].startswith("plan")]
s0 = sql[0]
print(f"SQL corpus: {s0['items']:,} queries, {s0['corpus_bytes'] / s0['items']:.0f} bytes each on average; "
      f"single thread; median of {s0['repetitions']} passes (wall), median CPU time.\n")
print("| mode | queries/s (wall) | queries/s (CPU) | µs/query (CPU) | peak RSS | RSS before the work |")
print("|---|---:|---:|---:|---:|---:|")
for r in sql:
    print(f"| {r['mode']} | {r['per_second_median']:,.0f} | {r['per_cpu_second_median']:,.0f} | "
          f"{1e3 * r['median_cpu_ms'] / r['items']:.1f} | {r['peak_rss_kb'] / 1024:.1f} MB | {r['baseline_rss_kb'] / 1024:.1f} MB |")
p0 = plan[0]
print(f"\nPlan: {p0['plan_nodes']:,} nodes, {p0['plan_bytes'] / 1e6:.1f} MB of JSON; {p0['repetitions']} runs.\n")
print("| mode | median (wall) | best (wall) | median (CPU) | peak RSS | RSS before the work |")
print("|---|---:|---:|---:|---:|---:|")
for r in plan:
    print(f"| {r['mode']} | {r['median_ms']:.1f} ms | {r['best_ms']:.1f} ms | {r['median_cpu_ms']:.1f} ms | "
          f"{r['peak_rss_kb'] / 1024:.1f} MB | {r['baseline_rss_kb'] / 1024:.1f} MB |")
EOF
