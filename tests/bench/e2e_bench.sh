#!/usr/bin/env bash
# kehu measured end to end, side by side with PostgreSQL, in one run.
#
# On a simulated workload (`kehu simulate --seed 7`, a fixed year) and on
# the Online Retail data (`kehu import online-retail`), each figure
# measured --runs times, for both systems in the same run:
#   kehu: durable ingest through gRPC (`kehu produce` -> `kehu serve` on
#     the embedded log), the fold lag and `kehu fit` (events -> up-to-date
#     segments), replay of all projections (`kehu replay`) of that log and
#     of a bulk-loaded log of about 10,000,000 events (replay_bench.sh,
#     100,000 customers over 4,250 days) with its peak RSS, freshness
#     (kehu-freshness: ack -> visible in GetCustomer), GetCustomer and
#     ListCustomers latency at a fixed offered rate and at saturation
#     (kehu-query-load), peak RSS of serve;
#   PostgreSQL (Debian's package, a throw-away cluster in the temporary
#     directory on 127.0.0.1): COPY of the same NDJSON events, the customer
#     view, RFM scores and pyramid/Pareto tiers in SQL
#     (tests/bench/pg/customer_view.sql), point lookups and tier lists
#     through pgbench (open loop with --rate, per-transaction logs) over
#     the same number of connections.
# Writes results.json and table.md (machine, medians, min-max, ratios) to
# the output directory and prints the table. Every process it starts and
# the temporary directory go away on any exit.
#
# Usage: tests/bench/e2e_bench.sh [--smoke] [--customers N] [--runs K]
#          [--duration S] [--warmup S] [--no-online-retail]
#          [--replay-customers N] [--build-dir DIR] [--out DIR] [--keep]
#   --customers   simulated customers (default 71,000: about 1,000,000 events;
#                 710,000 gives about 10,000,000)
#   --runs        runs of every figure (default 3)
#   --replay-customers  customers of the replay at scale (default 100,000
#                 over 4,250 days: about 10,000,000 events; 0 leaves it out)
#   --duration    seconds of each latency run (5), after --warmup (2)
#   --smoke       2,000 customers, one run, runs of 0.3 s, no Online Retail,
#                 a replay of 2,000 customers over a year: seconds (CI);
#                 shows that everything works, not how fast
#   --build-dir   use the binaries of this build; without it, configures
#                 build/ and builds kehu, kehu-query-load and kehu-freshness
#   --out         where the results go (default BUILD/bench-results/e2e-TIME)
#   --keep        keep the temporary directory (its path is printed)
# Environment: KEHU_BENCH_GET_RATE (10000), KEHU_BENCH_LIST_RATE (200),
# KEHU_BENCH_CONNECTIONS (8: gRPC channels and outstanding calls at
# saturation; pgbench clients), KEHU_BENCH_FRESHNESS_SAMPLES (1000 a run),
# KEHU_BENCH_FRESHNESS_RATE (100/s), KEHU_BENCH_ONLINE_RETAIL (the .csv.gz;
# default ../shared/data/online_retail/online_retail.csv.gz beside the clone).
#
# PostgreSQL: needs Debian's `postgresql` package (initdb, pg_ctl, psql,
# pgbench); installs it with apt-get when it is missing. Run as root, the
# cluster runs as the package's `postgres` user.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() {
  echo "e2e_bench: $*" >&2
  exit 1
}

smoke=0
keep=0
online_retail=1
build_dir=""
out=""
customers=""
runs=""
duration=""
warmup=""
replay_customers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --keep) keep=1 ;;
    --no-online-retail) online_retail=0 ;;
    --customers | --runs | --duration | --warmup | --build-dir | --out | --replay-customers)
      [ $# -ge 2 ] || die "$1: missing value"
      case "$1" in
        --customers) customers="$2" ;;
        --replay-customers) replay_customers="$2" ;;
        --runs) runs="$2" ;;
        --duration) duration="$2" ;;
        --warmup) warmup="$2" ;;
        --build-dir) build_dir="$2" ;;
        --out) out="$2" ;;
      esac
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

if [ "$smoke" = 1 ]; then
  customers="${customers:-2000}"
  runs="${runs:-1}"
  duration="${duration:-0.3}"
  warmup="${warmup:-0.1}"
  online_retail=0
  replay_customers="${replay_customers:-2000}"
  replay_days=365
  freshness_samples="${KEHU_BENCH_FRESHNESS_SAMPLES:-20}"
else
  customers="${customers:-71000}"
  runs="${runs:-3}"
  duration="${duration:-5}"
  warmup="${warmup:-2}"
  replay_customers="${replay_customers:-100000}"
  replay_days=4250
  freshness_samples="${KEHU_BENCH_FRESHNESS_SAMPLES:-1000}"
fi
get_rate="${KEHU_BENCH_GET_RATE:-10000}"
list_rate="${KEHU_BENCH_LIST_RATE:-200}"
connections="${KEHU_BENCH_CONNECTIONS:-8}"
freshness_rate="${KEHU_BENCH_FRESHNESS_RATE:-100}"
or_csv="${KEHU_BENCH_ONLINE_RETAIL:-$root/../shared/data/online_retail/online_retail.csv.gz}"
[[ "$customers" =~ ^[1-9][0-9]*$ ]] || die "--customers: expected a positive integer, got \"$customers\""
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs: expected a positive integer, got \"$runs\""
[[ "$replay_customers" =~ ^(0|[1-9][0-9]*)$ ]] || die "--replay-customers: expected a number, got \"$replay_customers\""
if [ "$online_retail" = 1 ] && [ ! -r "$or_csv" ]; then
  echo "e2e_bench: no $or_csv: the Online Retail part is left out" >&2
  online_retail=0
fi

# The simulated year and the reference date are fixed, so a seed gives the
# same customers and standings on any day.
sim_start=2025-01-01
as_of=2026-01-01
seed=7
or_as_of=2011-12-10

started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
loadavg_start="$(cut -d' ' -f1 /proc/loadavg)"

# --- binaries ---------------------------------------------------------------
if [ -z "$build_dir" ]; then
  "$root/infra/scripts/setup.sh"
  build_dir="$root/build"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build_dir" kehu kehu-query-load kehu-freshness
fi
kehu="$build_dir/infra/app/kehu"
load="$build_dir/tests/bench/kehu-query-load"
freshness="$build_dir/tests/bench/kehu-freshness"
for b in "$kehu" "$load" "$freshness"; do
  [ -x "$b" ] || die "--build-dir: no $b (build kehu, kehu-query-load and kehu-freshness first)"
done

# PostgreSQL from Debian's package, installed when missing.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || ! command -v pgbench >/dev/null; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: run as root, or apt-get install postgresql"
  echo "== installing PostgreSQL (apt-get install postgresql)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null; } ||
    die "apt-get install postgresql failed"
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi

out="${out:-$build_dir/bench-results/e2e-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out" || die "--out: cannot create $out"
rm -f "$out"/raw.jsonl "$out"/kehu-load.jsonl "$out"/freshness.jsonl "$out"/*.log

# --- temporary directory, processes, cleanup --------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/kehu-e2e-bench.XXXXXX")"
. "$root/tests/bench/bench_lib.sh"
pg_data="$tmp/pg/data"
pg_started=0
# As root, PostgreSQL runs as its package's user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_postgres() {
  if [ "$pg_started" = 1 ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
    pg_started=0
  fi
}
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  stop_job
  stop_serve
  stop_postgres
  for f in "$tmp"/*.log "$tmp"/pg/server.log; do
    [ -f "$f" ] && cp "$f" "$out/" 2>/dev/null
  done
  if [ "$keep" = 1 ]; then
    echo "e2e_bench: data kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  if [ "$code" != 0 ]; then
    echo "e2e_bench: stopped (exit $code); processes stopped, logs in $out" >&2
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# record SYSTEM WORKLOAD FIGURE VALUE UNIT [RUN]: one measured value.
record() {
  printf '{"system":"%s","workload":"%s","figure":"%s","value":%s,"unit":"%s","run":%s,"loadavg":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "${6:-0}" "$(loadavg_1min)" >>"$out/raw.jsonl"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

# --- the workloads -----------------------------------------------------------
echo "== workload: $customers simulated customers (seed $seed, $sim_start + 365 days)"
"$kehu" simulate --customers "$customers" --days 365 --seed "$seed" \
  --start "$sim_start" -o "$tmp/simulated.ndjson" 2>"$tmp/simulate.log"
events="$(wc -l <"$tmp/simulated.ndjson")"
echo "   $events events"
if [ "$online_retail" = 1 ]; then
  # Exit 2: some lines were rejected (the 135,080 without a CustomerID).
  code=0
  zcat "$or_csv" | "$kehu" import online-retail -o "$tmp/online_retail.ndjson" 2>"$tmp/import.log" || code=$?
  [ "$code" = 0 ] || [ "$code" = 2 ] || die "kehu import online-retail failed: $(tail -3 "$tmp/import.log")"
  or_events="$(wc -l <"$tmp/online_retail.ndjson")"
  echo "   Online Retail: $or_events events"
fi

# --- kehu ---------------------------------------------------------------------
# kehu_pipeline WORKLOAD NDJSON DATA RUN AS_OF CURRENCY: a fresh serve on DATA,
# ingest, fold, fit; records the figures; leaves the server running.
kehu_pipeline() {
  local workload="$1" ndjson="$2" data="$3" r="$4" at="$5" currency="$6"
  local n t0 t_ack t_fold t_end ingest_s
  n="$(wc -l <"$ndjson")"
  start_serve "$data" "$tmp/serve.log" --currency "$currency"
  t0=$(now_ms)
  run "$kehu" produce "$ndjson" --server "$addr" >"$tmp/produce.log" 2>&1 ||
    die "kehu produce failed: $(tail -3 "$tmp/produce.log")"
  t_ack=$(now_ms)
  wait_folded "$addr"
  t_fold=$(now_ms)
  run "$kehu" fit --server "$addr" --as-of "$at" --timeout 3600 >"$tmp/fit.log" 2>&1 ||
    die "kehu fit failed: $(tail -3 "$tmp/fit.log")"
  t_end=$(now_ms)
  ingest_s=$(awk -v a="$t0" -v b="$t_ack" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  record kehu "$workload" ingest_events_per_s "$(awk -v n="$n" -v s="$ingest_s" 'BEGIN { printf "%.0f", n / s }')" events/s "$r"
  record kehu "$workload" fold_lag_after_ingest_s "$(awk -v a="$t_ack" -v b="$t_fold" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" s "$r"
  record kehu "$workload" fit_s "$(awk -v a="$t_fold" -v b="$t_end" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" s "$r"
  record kehu "$workload" events_to_segments_s "$(awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" s "$r"
  # What the population step measured, to compare with SQL's.
  local pareto key potential
  pareto="$(awk '$1 == "pareto" {print $2}' "$tmp/fit.log")"
  key="$(awk '$1 == "pyramid" {print $3}' "$tmp/fit.log")"
  potential="$(awk '$1 == "pyramid" {for (i = 1; i < NF; ++i) if ($i == "potential") print $(i + 1)}' "$tmp/fit.log")"
  [ -n "$pareto" ] && record kehu "$workload" pareto_key_customers "$pareto" customers "$r"
  [ -n "$key" ] && record kehu "$workload" key_tier_customers "$key" customers "$r"
  [ -n "$potential" ] && record kehu "$workload" potential_tier_customers "$potential" customers "$r"
  echo "   run $r: ingest $ingest_s s ($n events), folded $(awk -v a="$t_ack" -v b="$t_fold" 'BEGIN { printf "%.2f", (b - a) / 1000 }') s later, fit $(awk -v a="$t_fold" -v b="$t_end" 'BEGIN { printf "%.2f", (b - a) / 1000 }') s; pareto ${pareto:-?}, key ${key:-?}"
}

echo "== kehu: ingest through gRPC, fold, fit (simulated, $runs runs)"
for r in $(seq "$runs"); do
  rm -rf "$tmp/kehu"
  kehu_pipeline simulated "$tmp/simulated.ndjson" "$tmp/kehu" "$r" "$as_of" EUR
  if [ "$r" != "$runs" ]; then stop_serve; fi
done
record kehu simulated serve_peak_rss_after_fit_mib "$(($(peak_rss_kib "$serve_pid") / 1024))" MiB

echo "== kehu: queries ($duration s runs after $warmup s warmup, $connections channels)"
loadavg_queries="$(loadavg_1min)"
common=(--server "$addr" --runs "$runs" --duration "$duration" --warmup "$warmup"
  --channels "$connections" --json "$out/kehu-load.jsonl")
query() { run "$load" "${common[@]}" "$@" >>"$out/kehu-load.log" 2>&1 || die "kehu-query-load failed: $(tail -3 "$out/kehu-load.log")"; tail -1 "$out/kehu-load.log"; }
query --label get_rate --call get --rate "$get_rate" --customers "$customers" --as-of "$as_of"
query --label get_saturation --call get --rate 0 --concurrency "$connections" --customers "$customers" --as-of "$as_of"
query --label list_rate --call list --rate "$list_rate" --tier key --page-size 100
query --label list_saturation --call list --rate 0 --concurrency "$connections" --tier key --page-size 100

echo "== kehu: freshness ($freshness_samples probes at $freshness_rate/s, $runs runs)"
run "$freshness" --server "$addr" --samples "$freshness_samples" --rate "$freshness_rate" \
  --runs "$runs" --customers "$customers" --occurred-at 2025-12-31T12:00:00Z \
  --json "$out/freshness.jsonl" >"$tmp/freshness.log" 2>&1 ||
  die "kehu-freshness failed: $(tail -3 "$tmp/freshness.log")"
tail -n "$runs" "$tmp/freshness.log" | cut -c1-160
record kehu simulated serve_peak_rss_mib "$(($(peak_rss_kib "$serve_pid") / 1024))" MiB
record kehu simulated data_dir_mib "$(($(du -sk "$tmp/kehu" | cut -f1) / 1024))" MiB
stop_serve

echo "== kehu: replay of the log ($runs runs)"
for r in $(seq "$runs"); do
  rm -rf "$tmp/replay"
  t0=$(now_ms)
  run "$kehu" replay --data "$tmp/kehu" --into "$tmp/replay" >"$tmp/replay.log" 2>&1 ||
    die "kehu replay failed: $(tail -3 "$tmp/replay.log")"
  wall=$(seconds_since "$t0")
  line="$(grep -m1 '^replayed ' "$tmp/replay.log" || true)"
  replayed="$(echo "$line" | awk '{print $2}')"
  rate="$(echo "$line" | sed -n 's/.*(\([0-9.]*\) events\/s).*/\1/p')"
  record kehu simulated fold_events_per_s "${rate:-null}" events/s "$r"
  record kehu simulated replay_wall_s "$wall" s "$r"
  echo "   run $r: $line; $wall s wall"
done
rm -rf "$tmp/replay"

if [ "$replay_customers" != 0 ]; then
  echo "== kehu: replay at scale ($replay_customers customers over $replay_days days, bulk-loaded; $runs runs)"
  run "$root/tests/bench/replay_bench.sh" --build-dir "$build_dir" \
    --customers "$replay_customers" --days "$replay_days" --runs "$runs" \
    --out "$out/replay-scale" >"$tmp/replay-scale.log" 2>&1 ||
    die "replay_bench.sh failed: $(tail -3 "$tmp/replay-scale.log")"
  grep -E '^   ' "$tmp/replay-scale.log" || true
  replay_scale="$(python3 - "$out/replay-scale/results.json" "$(loadavg_1min)" "$out/raw.jsonl" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
with open(sys.argv[3], "a") as raw:
    for i, run in enumerate(r["runs"], 1):
        for figure, value, unit in (("fold_10m_events_per_s", run["events_per_s"], "events/s"),
                                    ("replay_10m_peak_rss_mib", run["peak_rss_kib"] // 1024, "MiB")):
            raw.write(json.dumps({"system": "kehu", "workload": "simulated", "figure": figure,
                                  "value": value, "unit": unit, "run": i,
                                  "loadavg": float(sys.argv[2])}) + "\n")
print("%d events of %d customers over %d days, bulk-loaded in %s s" %
      (r["events"], r["customers"], r["days"], r["bulk_load_s"]))
EOF
)"
else
  replay_scale="skipped"
fi

# --- PostgreSQL -----------------------------------------------------------
echo "== PostgreSQL: a throw-away cluster on 127.0.0.1"
mkdir -p "$tmp/pg"
chmod 755 "$tmp"
[ "$(id -u)" = 0 ] && chown postgres "$tmp/pg"
as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 ||
  die "initdb failed: $(tail -3 "$tmp/initdb.log")"
# A free port: the kernel's choice for a socket we close at once.
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Memory as a competent engineer gives a 24 GiB machine's database; fsync
# and synchronous commit on (durable, as kehu's log is).
as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$tmp/pg/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$tmp/pg -c shared_buffers=1GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_wal_size=8GB -c effective_cache_size=8GB" \
  start >/dev/null || die "PostgreSQL did not start: $(tail -5 "$tmp/pg/server.log")"
pg_started=1
psql_() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres "$@"; }
pg_version="$(psql_ -At -c 'SHOW server_version')"
echo "   PostgreSQL $pg_version at 127.0.0.1:$pg_port"

# pg_pipeline WORKLOAD NDJSON RUN AS_OF CURRENCY: an empty schema, COPY, the
# customer view; records the figures.
pg_pipeline() {
  local workload="$1" ndjson="$2" r="$3" at="$4" currency="$5"
  local n t0 t_copy t_end
  n="$(wc -l <"$ndjson")"
  psql_ -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' -f "$root/tests/bench/pg/schema.sql" >/dev/null
  t0=$(now_ms)
  # CSV with control characters as quote and delimiter: each line is one
  # jsonb value, read verbatim.
  run psql_ -c "\\copy events(doc) FROM '$ndjson' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')" ||
    die "COPY failed"
  t_copy=$(now_ms)
  run psql_ -v as_of="${at}T00:00:00Z" -v currency="$currency" \
    -f "$root/tests/bench/pg/customer_view.sql" >"$tmp/pg-view.log" 2>&1 ||
    die "customer_view.sql failed: $(tail -3 "$tmp/pg-view.log")"
  t_end=$(now_ms)
  local copy_s view_s
  copy_s=$(awk -v a="$t0" -v b="$t_copy" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  view_s=$(awk -v a="$t_copy" -v b="$t_end" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  record postgres "$workload" ingest_events_per_s "$(awk -v n="$n" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')" events/s "$r"
  record postgres "$workload" fold_events_per_s "$(awk -v n="$n" -v s="$view_s" 'BEGIN { printf "%.0f", n / s }')" events/s "$r"
  record postgres "$workload" events_to_segments_s "$(awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" s "$r"
  local counts
  counts="$(psql_ -At -F ' ' -c "SELECT count(*) FILTER (WHERE pareto_set = 'key'), count(*) FILTER (WHERE pyramid_tier = 'key'), count(*) FILTER (WHERE pyramid_tier = 'potential') FROM customer_view")"
  record postgres "$workload" pareto_key_customers "$(echo "$counts" | cut -d' ' -f1)" customers "$r"
  record postgres "$workload" key_tier_customers "$(echo "$counts" | cut -d' ' -f2)" customers "$r"
  record postgres "$workload" potential_tier_customers "$(echo "$counts" | cut -d' ' -f3)" customers "$r"
  echo "   run $r: COPY $copy_s s ($n events), customer view $view_s s; pareto, key, potential: $counts"
}

echo "== PostgreSQL: COPY, customer view (simulated, $runs runs)"
for r in $(seq "$runs"); do
  pg_pipeline simulated "$tmp/simulated.ndjson" "$r" "$as_of" EUR
done
record postgres simulated data_dir_mib "$(($(du -sk "$pg_data" | cut -f1) / 1024))" MiB

echo "== PostgreSQL: queries (pgbench, $connections connections)"
# pgbench_runs LABEL SCRIPT [pgbench flags]: warmup, then --runs measured
# runs with per-transaction logs; records the percentiles of each run.
pgbench_runs() {
  local label="$1" script="$2"
  shift 2
  local r dir
  for r in $(seq "$runs"); do
    dir="$tmp/pgbench-$label-$r"
    mkdir -p "$dir"
    run pgbench -n -M prepared -h 127.0.0.1 -p "$pg_port" -U postgres \
      -c "$connections" -j 2 -T "$(awk -v w="$warmup" 'BEGIN { w = int(w + 0.999); print (w < 1 ? 1 : w) }')" \
      -f "$script" "$@" postgres >/dev/null 2>>"$tmp/pgbench.log" ||
      die "pgbench warmup failed: $(tail -3 "$tmp/pgbench.log")"
    run pgbench -n -M prepared -h 127.0.0.1 -p "$pg_port" -U postgres \
      -c "$connections" -j 2 -T "$(awk -v d="$duration" 'BEGIN { d = int(d + 0.999); print (d < 1 ? 1 : d) }')" \
      -l --log-prefix="$dir/tx" -f "$script" "$@" postgres >"$dir/pgbench.out" 2>>"$tmp/pgbench.log" ||
      die "pgbench failed: $(tail -3 "$tmp/pgbench.log")"
    python3 "$root/tests/bench/e2e_report.py" pgbench-log "$dir/figures.json" "$dir"/tx.* | sed "s/^/   $label run $r: /"
    python3 - "$dir/figures.json" "$label" "$r" "$(loadavg_1min)" >>"$out/raw.jsonl" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
for key, name in (("p50_us", "p50_us"), ("p99_us", "p99_us"), ("p999_us", "p999_us"), ("achieved_rate", "ok_rate")):
    print(json.dumps({"system": "postgres", "workload": "simulated", "figure": sys.argv[2] + "_" + name,
                      "value": f[key], "unit": "calls/s" if name == "ok_rate" else "µs",
                      "run": int(sys.argv[3]), "loadavg": float(sys.argv[4])}))
EOF
    rm -f "$dir"/tx.*
  done
}
pgbench_runs get_rate "$root/tests/bench/pg/get_customer.pgbench" -R "$get_rate" -D customers="$customers"
pgbench_runs get_saturation "$root/tests/bench/pg/get_customer.pgbench" -D customers="$customers"
pgbench_runs list_rate "$root/tests/bench/pg/list_customers.pgbench" -R "$list_rate" -D tier=key
pgbench_runs list_saturation "$root/tests/bench/pg/list_customers.pgbench" -D tier=key

# --- Online Retail --------------------------------------------------------------
if [ "$online_retail" = 1 ]; then
  echo "== Online Retail: kehu ingest, fold, fit ($runs runs)"
  for r in $(seq "$runs"); do
    rm -rf "$tmp/kehu-or"
    kehu_pipeline online_retail "$tmp/online_retail.ndjson" "$tmp/kehu-or" "$r" "$or_as_of" GBP
    stop_serve
  done
  rm -rf "$tmp/kehu-or"
  echo "== Online Retail: PostgreSQL COPY, customer view ($runs runs)"
  for r in $(seq "$runs"); do
    pg_pipeline online_retail "$tmp/online_retail.ndjson" "$r" "$or_as_of" GBP
  done
fi
stop_postgres

# --- report ------------------------------------------------------------------------
loadavg_end="$(loadavg_1min)"
mem_gib="$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
os="$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")"
python3 - "$out/machine.json" <<EOF
import json, sys
json.dump({
  "started_at": "$started_at", "finished_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)",
  "cpus": $(nproc), "cpu_model": "$cpu_model", "memory_gib": $mem_gib,
  "kernel": "$(uname -r)", "os": "$os", "postgres_version": "PostgreSQL $pg_version",
  "loadavg_start": $loadavg_start, "loadavg_queries": $loadavg_queries, "loadavg_end": $loadavg_end,
  "smoke": $([ "$smoke" = 1 ] && echo True || echo False),
  "customers": $customers, "events": $events, "seed": $seed, "as_of": "$as_of", "runs": $runs,
  "duration_s": $duration, "warmup_s": $warmup, "get_rate": $get_rate, "list_rate": $list_rate,
  "connections": $connections, "freshness_samples": $freshness_samples, "freshness_rate": $freshness_rate,
  "online_retail": "$([ "$online_retail" = 1 ] && echo "${or_events} events, as of $or_as_of" || echo skipped)",
  "replay_scale": "$replay_scale",
}, open(sys.argv[1], "w"), indent=1)
EOF
echo
python3 "$root/tests/bench/e2e_report.py" report "$out"
echo
echo "results: $out/results.json, $out/table.md"
