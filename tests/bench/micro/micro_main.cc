// kehu-micro-bench: the micro benchmarks of kehu's hot paths (decode,
// fold, index maintenance, views; tests/bench/README.md). Takes Google
// Benchmark's flags (--benchmark_filter, --benchmark_min_time,
// --benchmark_repetitions, --benchmark_out, ...). Exits 1 when a fixture
// no longer holds or a benchmark failed, so that a smoke run catches it;
// no figure is ever compared with a limit.
#include <cstdio>

#include "benchmark/benchmark.h"
#include "tests/bench/micro/fixtures.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (absl::Status s = kehu::bench::CheckFixtures(); !s.ok()) {
    std::fprintf(stderr, "kehu-micro-bench: %s\n", s.ToString().c_str());
    return 1;
  }
  // The projector's year (registered last with the segment index) is the
  // heaviest: RocksDB stores with their threads and a year of records.
  // The light benchmarks run before it, on an untouched process.
  kehu::bench::RegisterDecodeBenchmarks();
  kehu::bench::RegisterFoldBenchmarks();
  kehu::bench::RegisterViewBenchmarks();
  kehu::bench::RegisterSegmentIndexBenchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (kehu::bench::AnyFailed()) {
    std::fprintf(stderr, "kehu-micro-bench: a benchmark failed (see above)\n");
    return 1;
  }
  return 0;
}
