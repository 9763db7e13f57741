#!/usr/bin/env bash
# Replay speed and memory at scale: `kehu replay` of a log of simulated
# events, several runs, median events/s and peak resident memory.
#
# The log is bulk-loaded without a server (`kehu simulate --seed 7`, then
# `kehu produce --data DIR`: validated, appended straight to DIR/log), so a
# 10-million-event log takes a few minutes, most of them the simulation. Each run replays it into
# a fresh directory with the defaults (`--threads 2 --batch 10000`); the
# figure is the `replayed N events in S s (E events/s)` line, the memory
# the replay's peak RSS (GNU time's %M). Prints a markdown table and writes
# results.json to the output directory. The process it runs and the
# temporary directory go away on any exit, SIGINT and SIGTERM included.
#
# Usage: tests/bench/replay_bench.sh [--smoke] [--customers N] [--days D]
#          [--runs K] [--build-dir DIR] [--out DIR]
#   --customers, --days  the simulated log (default 100000 customers over
#                 4250 days: about 10,000,000 events; 1000000 over 230
#                 days is about as many events for a million customers)
#   --runs        replays (default 3)
#   --smoke       2,000 customers over 365 days, one run: seconds (CI)
#   --build-dir   use this build's kehu; without it, builds build/
#   --out         default BUILD/bench-results/replay-TIME
#
# Limitations: the log is in the order the simulator writes (business
# time); a live log interleaves late events, which replay equally fast.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() {
  echo "replay_bench: $*" >&2
  exit 1
}

customers=100000
days=4250
runs=3
build_dir=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) customers=2000 days=365 runs=1 ;;
    --customers | --days | --runs | --build-dir | --out)
      [ $# -ge 2 ] || die "$1: missing value"
      case "$1" in
        --customers) customers="$2" ;;
        --days) days="$2" ;;
        --runs) runs="$2" ;;
        --build-dir) build_dir="$2" ;;
        --out) out="$2" ;;
      esac
      shift ;;
    *) die "unknown argument $1 (see the usage at the top of this file)" ;;
  esac
  shift
done
for n in "$customers" "$days" "$runs"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "expected a positive number, got \"$n\""
done

if [ -z "$build_dir" ]; then
  "$root/infra/scripts/build.sh" >/dev/null
  build_dir="$root/build"
fi
kehu="$build_dir/infra/app/kehu"
[ -x "$kehu" ] || die "no kehu binary in $build_dir (build it, or give --build-dir)"
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time, Debian package \"time\")"
source "$root/tests/bench/bench_lib.sh"

out="${out:-$build_dir/bench-results/replay-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/kehu-replay-bench.XXXXXX")"
cleanup() {
  stop_job
  [ -n "$job_pid" ] && { wait "$job_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
# Without these, bash would leave on a signal without running the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== bulk load: $customers customers over $days days"
started="$(now_ms)"
run "$kehu" simulate --customers "$customers" --days "$days" --seed 7 \
  --start 2025-01-01 -o "$tmp/events.ndjson" 2>"$tmp/simulate.log" ||
  die "kehu simulate failed: $(tail -3 "$tmp/simulate.log")"
run "$kehu" produce --data "$tmp/data" --batch 10000 "$tmp/events.ndjson" \
  2>"$tmp/produce.log" ||
  die "bulk load failed: $(tail -3 "$tmp/produce.log")"
rm -f "$tmp/events.ndjson"
load_s="$(seconds_since "$started")"
events="$(awk '/ accepted/ {print $3}' "$tmp/produce.log")"
echo "   $events events in $load_s s"

results=()
for r in $(seq 1 "$runs"); do
  rm -rf "$tmp/replay"
  run /usr/bin/time -f 'peak_rss_kib %M' -o "$tmp/time.txt" \
    "$kehu" replay --data "$tmp/data" --into "$tmp/replay" \
    >"$tmp/replay.log" 2>"$tmp/replay.err" ||
    die "kehu replay failed: $(tail -3 "$tmp/replay.err")"
  line="$(grep -m1 '^replayed ' "$tmp/replay.log")"
  seconds="$(echo "$line" | awk '{print $5}')"
  rate="$(echo "$line" | sed -E 's/.*\(([0-9]+) events\/s\).*/\1/')"
  rss="$(awk '/^peak_rss_kib/ {print $2}' "$tmp/time.txt")"
  echo "   run $r/$runs: $rate events/s ($seconds s), peak RSS $rss KiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
  results+=("$rate $seconds $rss")
done
rm -rf "$tmp/replay"

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
rate_median="$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)"
rss_median="$(printf '%s\n' "${results[@]}" | awk '{print $3}' | median)"
rss_max="$(printf '%s\n' "${results[@]}" | awk '{print $3}' | sort -n | tail -1)"

{
  echo "| customers | events | runs | replay events/s (median) | peak RSS MiB (median, max) |"
  echo "|--:|--:|--:|--:|--:|"
  echo "| $customers | $events | $runs | $rate_median | $((rss_median / 1024)), $((rss_max / 1024)) |"
} | tee "$out/table.md"
{
  printf '{"customers": %s, "days": %s, "events": %s, "bulk_load_s": %s, ' \
    "$customers" "$days" "$events" "$load_s"
  printf '"commit": "%s", "cpus": %s, ' \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(nproc)"
  printf '"runs": ['
  sep=""
  for line in "${results[@]}"; do
    read -r rate seconds rss <<<"$line"
    printf '%s{"events_per_s": %s, "seconds": %s, "peak_rss_kib": %s}' \
      "$sep" "$rate" "$seconds" "$rss"
    sep=", "
  done
  printf '], "median": {"events_per_s": %s, "peak_rss_kib": %s}}\n' \
    "$rate_median" "$rss_median"
} >"$out/results.json"
echo "results: $out/results.json"
