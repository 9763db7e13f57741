// BM_Decode/<payload>: parsing one serialized kehu.events.v1.Event of each
// payload type, as the projector does with every record it reads
// (PartitionProjector::Apply: a fresh Event, ParseFromString). Reports
// events/s (items) and bytes/s; the counter `event_bytes` is the size of
// the serialized event.
#include <string>

#include "benchmark/benchmark.h"
#include "kehu/events/v1/events.pb.h"
#include "tests/bench/micro/fixtures.h"

namespace kehu::bench {
namespace {

void BM_Decode(benchmark::State& state, const std::string& bytes) {
  for (auto _ : state) {
    events::v1::Event event;
    if (!event.ParseFromString(bytes)) {
      Fail(state, "the serialized event does not parse");
      break;
    }
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(bytes.size()));
  state.counters["event_bytes"] = static_cast<double>(bytes.size());
}

}  // namespace

void RegisterDecodeBenchmarks() {
  for (const events::v1::Event& event : NextEvents()) {
    benchmark::RegisterBenchmark(
        ("BM_Decode/" + PayloadName(event)).c_str(),
        [bytes = event.SerializeAsString()](benchmark::State& state) {
          BM_Decode(state, bytes);
        });
  }
}

}  // namespace kehu::bench
