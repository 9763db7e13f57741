#!/usr/bin/env bash
# Installs the Debian packages kehu builds with, if any is missing.
# Idempotent: when everything is there it only checks, in well under a second.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libabsl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev
  librdkafka-dev
  libcli11-dev
  libssl-dev        # SHA-256 of `kehu digest`
  libjemalloc-dev   # the executables' malloc
  libgtest-dev libgmock-dev
  # Google Benchmark, for the micro benchmarks (-DKEHU_BUILD_BENCHMARKS=ON)
  libbenchmark-dev
  # infra/scripts/grpc_call.py, the generic client over server reflection
  python3-grpcio    # gRPC for Python: channels and calls
  python3-protobuf  # descriptor pool, message factory, JSON mapping
  # the TLS tests make their certificates with the openssl command
  openssl
  # GNU time: peak memory of a replay (tests/bench/replay_bench.sh)
  time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
