#!/usr/bin/env bash
# The query-latency benchmark in one command. Starts `kehu serve` on a
# temporary data directory at 127.0.0.1 on a free port, loads N simulated
# customers (`kehu simulate --seed 7 | kehu produce`), waits until they are
# folded, measures the population (`kehu fit`), then runs kehu-query-load:
# GetCustomer at a fixed offered rate and at saturation, ListCustomers (a
# page of 100 with a tier and a lifecycle filter) at a fixed rate and at
# saturation, and SegmentSummary one call at a time, each several runs.
# Prints a markdown table of the medians and the server's peak RSS, and
# writes results.json, table.md and the logs to the output directory. The
# server and the temporary directory go away on any exit.
#
# Usage: tests/bench/query_bench.sh [--smoke] [--customers N] [--runs K]
#          [--duration S] [--warmup S] [--build-dir DIR] [--out DIR] [--keep]
#          [--data DIR] [--query-threads N]
#   --smoke       2,000 customers and short runs: finishes in seconds (CI)
#   --data        serve this data directory, already loaded with the same
#                 simulated customers and fitted as of 2026-01-01, instead
#                 of loading them (one kept with --keep, or built offline:
#                 `kehu produce --data` of the simulated events, then
#                 `kehu replay --fit-as-of 2026-01-01` and its store moved
#                 into DIR); no other server may run on it
#   --query-threads  `kehu serve --query-threads` (default: serve's own)
#   --build-dir   use the binaries of this build; without it, builds build/
#   --out         where the results go (default BUILD/bench-results/query-TIME)
#   --keep        keep the data directory (its path is printed)
# Environment (flags win): KEHU_BENCH_CUSTOMERS (default 1000000),
# KEHU_BENCH_RUNS (5), KEHU_BENCH_DURATION (10 s), KEHU_BENCH_WARMUP (3 s),
# KEHU_BENCH_PREWARM (30 s of GetCustomer at saturation before anything
# is measured, so that the block cache is as warm as a running server's;
# 0: none),
# KEHU_BENCH_GET_RATES (offered rates, one benchmark each: "10000"; e.g.
# "2000 5000 10000"), KEHU_BENCH_GET_CONCURRENCY (32),
# KEHU_BENCH_LIST_RATE (200), KEHU_BENCH_LIST_CONCURRENCY (8),
# KEHU_BENCH_LIST_TIER (key), KEHU_BENCH_LIST_STAGE (loyal).
#
# Limitations: client and server share the machine (see README.md); the
# numbers are for comparing builds on one machine, not across machines.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() {
  echo "query_bench: $*" >&2
  exit 1
}

smoke=0
keep=0
build_dir=""
out=""
customers="${KEHU_BENCH_CUSTOMERS:-}"
runs="${KEHU_BENCH_RUNS:-}"
duration="${KEHU_BENCH_DURATION:-}"
warmup="${KEHU_BENCH_WARMUP:-}"
data=""
query_threads=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --keep) keep=1 ;;
    --customers | --runs | --duration | --warmup | --build-dir | --out | --data | --query-threads)
      [ $# -ge 2 ] || die "$1: missing value"
      case "$1" in
        --data) data="$2" ;;
        --query-threads) query_threads="$2" ;;
        --customers) customers="$2" ;;
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
  runs="${runs:-2}"
  duration="${duration:-0.3}"
  warmup="${warmup:-0.1}"
  prewarm="${KEHU_BENCH_PREWARM:-0.3}"
else
  customers="${customers:-1000000}"
  runs="${runs:-5}"
  duration="${duration:-10}"
  warmup="${warmup:-3}"
  prewarm="${KEHU_BENCH_PREWARM:-30}"
fi
get_rates="${KEHU_BENCH_GET_RATES:-10000}"
get_concurrency="${KEHU_BENCH_GET_CONCURRENCY:-32}"
list_rate="${KEHU_BENCH_LIST_RATE:-200}"
list_concurrency="${KEHU_BENCH_LIST_CONCURRENCY:-8}"
list_tier="${KEHU_BENCH_LIST_TIER:-key}"
list_stage="${KEHU_BENCH_LIST_STAGE:-loyal}"
[[ "$customers" =~ ^[1-9][0-9]*$ ]] || die "--customers: expected a positive integer, got \"$customers\""
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs: expected a positive integer, got \"$runs\""
[[ "$prewarm" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "KEHU_BENCH_PREWARM: expected seconds (0: no warm-up), got \"$prewarm\""

# The simulated year and the reference date of fit and queries are fixed,
# so that a seed gives the same customers and standings on any day.
sim_start=2025-01-01
as_of=2026-01-01
seed=7

if [ -z "$build_dir" ]; then
  "$root/infra/scripts/build.sh"
  build_dir="$root/build"
fi
kehu="$build_dir/infra/app/kehu"
load="$build_dir/tests/bench/kehu-query-load"
[ -x "$kehu" ] || die "--build-dir: no $kehu (build it first)"
[ -x "$load" ] || die "--build-dir: no $load (configure with KEHU_BUILD_TESTS=ON and build)"
out="${out:-$build_dir/bench-results/query-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out" || die "--out: cannot create $out"
rm -f "$out/results.jsonl" "$out/table.md" "$out/load.log"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kehu-query-bench.XXXXXX")"
# run, start_serve, stop_serve, ...: shared with e2e_bench.sh.
. "$root/tests/bench/bench_lib.sh"
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  stop_job
  stop_serve
  [ -f "$tmp/serve.log" ] && cp "$tmp/serve.log" "$out/serve.log" 2>/dev/null
  if [ "$keep" = 1 ]; then
    echo "query_bench: data kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  if [ "$code" != 0 ]; then
    echo "query_bench: stopped (exit $code); server stopped, logs in $out" >&2
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

serve_flags=()
[ -n "$query_threads" ] && serve_flags+=(--query-threads "$query_threads")
if [ -n "$data" ]; then
  [ -d "$data/store" ] || die "--data: no store in $data"
  start_serve "$data" "$tmp/serve.log" "${serve_flags[@]}"
  echo "== kehu serve (pid $serve_pid) at $addr, data in $data (loaded and fitted before)"
  wait_folded "$addr"
  events=null load_s=null fold_s=null fit_s=null
  data_kib="$(du -sk "$data" | cut -f1)"
else
  start_serve "$tmp/data" "$tmp/serve.log" "${serve_flags[@]}"
  echo "== kehu serve (pid $serve_pid) at $addr, data in $tmp/data"

  echo "== loading $customers simulated customers (seed $seed, $sim_start + 365 days)"
  load_customers() {
    "$kehu" simulate --customers "$customers" --days 365 --seed "$seed" \
      --start "$sim_start" | "$kehu" produce --server "$addr" 2>"$tmp/produce.log"
  }
  t0=$(now_ms)
  run load_customers || die "kehu produce failed: $(tail -5 "$tmp/produce.log")"
  produced="$(tail -1 "$tmp/produce.log")"
  load_s=$(seconds_since "$t0")
  t0=$(now_ms)
  wait_folded "$addr"
  fold_s=$(seconds_since "$t0")
  events="$(echo "$produced" | awk '{print $3}')"
  echo "   $produced in $load_s s; folded $fold_s s later"

  echo "== kehu fit --as-of $as_of"
  t0=$(now_ms)
  run "$kehu" fit --server "$addr" --as-of "$as_of" --timeout 3600
  fit_s=$(seconds_since "$t0")
  data_kib="$(du -sk "$tmp/data" | cut -f1)"
fi
peak_rss_loaded_kib="$(peak_rss_kib "$serve_pid")"

common=(--server "$addr" --runs "$runs" --duration "$duration" --warmup "$warmup"
  --json "$out/results.jsonl" --markdown "$out/table.md")
# The machine's load average around the queries, to judge the figures by.
loadavg_before="$(cut -d' ' -f1 /proc/loadavg)"
# The load client's output goes to the terminal and to load.log.
exec 4> >(tee -a "$out/load.log")
tee_pid=$!
bench() {
  echo >&4
  run "$load" "${common[@]}" "$@" >&4 2>&4
}
# A server that has answered for a while holds most customers' blocks in
# its block cache; one just started reads them from the files. Warm it:
# GetCustomer at saturation, not measured.
if [ "$(awk -v s="$prewarm" 'BEGIN {print (s > 0)}')" = 1 ]; then
  echo "== warming the block cache: GetCustomer at saturation for $prewarm s (not measured)"
  echo "(warm-up of the block cache, not measured)" >&4
  run "$load" --server "$addr" --runs 1 --duration "$prewarm" --warmup 0 \
    --call get --rate 0 --concurrency "$get_concurrency" \
    --customers "$customers" --as-of "$as_of" >&4 2>&4
fi
for rate in $get_rates; do
  bench --label "GetCustomer" --call get --rate "$rate" \
    --customers "$customers" --as-of "$as_of"
done
bench --label "GetCustomer" --call get --rate 0 --concurrency "$get_concurrency" \
  --customers "$customers" --as-of "$as_of"
bench --label "ListCustomers $list_tier+$list_stage, page 100" --call list \
  --rate "$list_rate" --tier "$list_tier" --stage "$list_stage" --page-size 100
bench --label "ListCustomers $list_tier+$list_stage, page 100" --call list \
  --rate 0 --concurrency "$list_concurrency" --tier "$list_tier" \
  --stage "$list_stage" --page-size 100
bench --label "SegmentSummary pyramid_tier" --call summary --rate 0 \
  --concurrency 1 --dimension pyramid_tier --deadline-ms 60000

exec 4>&-
wait "$tee_pid"
loadavg_after="$(cut -d' ' -f1 /proc/loadavg)"

peak_rss_kib="$(peak_rss_kib "$serve_pid")"
rss_kib="$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")"

{
  echo "{\"benchmark\":\"query_latency\","
  echo "\"finished_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "\"commit\":\"$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)\","
  echo "\"host\":{\"cpus\":$(nproc),\"kernel\":\"$(uname -r)\",\"loadavg_1min_before\":$loadavg_before,\"loadavg_1min_after\":$loadavg_after},"
  echo "\"smoke\":$([ "$smoke" = 1 ] && echo true || echo false),"
  echo "\"customers\":$customers,\"seed\":$seed,\"simulated_from\":\"$sim_start\",\"as_of\":\"$as_of\","
  echo "\"data_dir_given\":$([ -n "$data" ] && echo true || echo false),\"query_threads\":${query_threads:-null},\"prewarm_s\":$prewarm,"
  echo "\"events_accepted\":${events:-null},\"load_s\":$load_s,\"fold_wait_s\":$fold_s,\"fit_s\":$fit_s,"
  echo "\"serve_peak_rss_kib\":$peak_rss_kib,\"serve_peak_rss_after_fit_kib\":$peak_rss_loaded_kib,\"serve_rss_kib\":$rss_kib,\"data_kib\":$data_kib,"
  echo "\"benchmarks\":["
  sed '$!s/$/,/' "$out/results.jsonl"
  echo "]}"
} >"$out/results.json"

echo
echo "== medians of $runs runs ($duration s each after $warmup s warmup), $customers customers; load average $loadavg_before before, $loadavg_after after"
echo
cat "$out/table.md"
echo
echo "kehu serve peak RSS (VmHWM): $((peak_rss_kib / 1024)) MiB ($((peak_rss_loaded_kib / 1024)) MiB before the queries)"
[ -z "$data" ] && echo "load $load_s s, fold wait $fold_s s, fit $fit_s s"
echo "data directory $((data_kib / 1024)) MiB"
echo "results: $out/results.json"
