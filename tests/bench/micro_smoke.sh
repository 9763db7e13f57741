#!/usr/bin/env bash
# The micro benchmarks' smoke run: configures BUILD_DIR with
# -DKEHU_BUILD_BENCHMARKS=ON (creating it if needed; an existing build
# directory keeps its other options), builds kehu-micro-bench, and runs
# every benchmark for a moment (--benchmark_min_time=0.01). Fails when the
# build fails or the binary exits non-zero (a broken fixture or a failed
# benchmark); never on a time. Takes seconds once built.
# Usage: tests/bench/micro_smoke.sh BUILD_DIR [more --benchmark_* flags]
# Writes BUILD_DIR/bench-results/micro-smoke.json.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [--benchmark_* flags]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$1"
shift

"$root/infra/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEHU_BUILD_BENCHMARKS=ON >/dev/null
ninja -C "$build" kehu-micro-bench

mkdir -p "$build/bench-results"
start=$SECONDS
"$build/tests/bench/micro/kehu-micro-bench" --benchmark_min_time=0.01 \
  --benchmark_out="$build/bench-results/micro-smoke.json" \
  --benchmark_out_format=json "$@"
echo "micro_smoke: passed, $((SECONDS - start)) s of benchmarks"
