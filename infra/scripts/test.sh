#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit and integration).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/infra/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)"
