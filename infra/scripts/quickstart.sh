#!/usr/bin/env bash
# kehu's main job on one machine: sets up and builds, starts `kehu serve` on
# its embedded log, feeds it a simulated year of a web shop, an ERP and a
# call center (2,000 customers, over the last 365 days), measures the
# population (kehu fit), and shows what the service now knows,
# queried through gRPC. The server keeps running; its address is printed.
#
# Environment: KEHU_DATA (data directory, default ./kehu-data),
# KEHU_LISTEN (default 127.0.0.1:50051), KEHU_CUSTOMERS (default 2000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/infra/scripts/build.sh"

kehu="$root/build/infra/app/kehu"
data="${KEHU_DATA:-$root/kehu-data}"
listen="${KEHU_LISTEN:-127.0.0.1:50051}"
customers="${KEHU_CUSTOMERS:-2000}"
pidfile="$data/serve.pid"
mkdir -p "$data"

# A server left running by an earlier quick start is stopped first.
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  old="$(cat "$pidfile")"
  echo "== stopping the kehu serve of an earlier run (pid $old)"
  kill -TERM "$old"
  while kill -0 "$old" 2>/dev/null; do sleep 0.1; done
fi

echo "== starting kehu serve (data in $data, log in $data/serve.log)"
nohup "$kehu" serve --data "$data" --listen "$listen" >"$data/serve.log" 2>&1 &
echo $! >"$pidfile"
if ! "$kehu" query progress --wait --server "$listen" --timeout 30 >/dev/null 2>&1; then
  echo "kehu serve did not come up:" >&2
  cat "$data/serve.log" >&2
  exit 1
fi

echo "== simulating $customers customers over 365 days and publishing them"
start_ns=$(date +%s%N)
"$kehu" simulate --customers "$customers" --days 365 --seed 42 --start "$(date -u -d "365 days ago" +%Y-%m-%d)" |
  "$kehu" produce --server "$listen"
"$kehu" query progress --wait --server "$listen" --timeout 120 >/dev/null
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
echo "== simulated, ingested and folded in $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) s"
echo
echo "== measuring the population: RFM cuts, tiers, lifetime-value models (kehu fit)"
"$kehu" fit --server "$listen"

echo
echo "== projector progress (kehu query progress)"
"$kehu" query progress --server "$listen"
echo
echo "== top 10 customers by margin (kehu query top --metric margin -n 10)"
"$kehu" query top --metric margin -n 10 --server "$listen"
top="$("$kehu" query top --metric margin -n 1 --server "$listen" | awk 'NR==2 {print $2}')"
echo
echo "== the best customer's view (kehu query get $top)"
"$kehu" query get "$top" --server "$listen"

cat <<INFO

kehu serve is running at $listen (pid $(cat "$pidfile"), data in $data).
  $kehu query get C000042 --server $listen
  $kehu query top --metric revenue -n 20 --server $listen --json
  $kehu simulate --customers 10 --days 30 --seed 7 | $kehu produce --server $listen
Stop it with: kill $(cat "$pidfile")
INFO
