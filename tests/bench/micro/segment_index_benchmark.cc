// Index maintenance.
//
// BM_SegmentIndex/*: the segment index work the projector does for one
// customer it folded (projections/segment_index.h), for the warm customer
// against the fitted population, in a projection store in a scratch
// directory (nothing is committed):
//   evaluate               SegmentIndex::Evaluate, the customer's standing
//   write/new_customer     Write of a first standing into a WriteBatch
//   write/after_order      Write of the difference a new order makes
//   update/after_order     Update: read the previous standing row from the
//                          store, Evaluate, Write (what Process does)
//
// BM_Projector/process_year/batch:N: PartitionProjector::Process of the
// simulated year (fixtures.h SimulatedYear, ~28,000 events of 2,000
// customers) in batches of N records, into a fresh store holding the fitted
// population: decode, validation, dedup, fold, customer and index rows,
// segment index, one WriteBatch per batch. One iteration is the whole year
// (so that every iteration sees the same mix: the first weeks are mostly
// registrations); opening the fresh store is not timed. Reports events/s,
// wall-clock (RocksDB works in background threads too).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "projections/customer_fold.h"
#include "projections/partition_projector.h"
#include "projections/segment_index.h"
#include "rocksdb/write_batch.h"
#include "tests/bench/micro/fixtures.h"

namespace kehu::bench {
namespace {

using store::v1::CustomerState;
using store::v1::Standing;

// The warm customer after one more order.
CustomerState WarmCustomerAfterOrder() {
  CustomerState state = WarmCustomer();
  for (const auto& event : NextEvents()) {
    if (event.has_order_placed())
      projections::FoldEvent(event, {3, 5000}, &state);
  }
  return state;
}

void BM_SegmentIndexEvaluate(benchmark::State& state) {
  auto scratch = OpenScratchStore();
  if (!scratch.ok()) return Fail(state, scratch.status().ToString());
  const projections::SegmentIndex index(scratch->store.get());
  for (auto _ : state) {
    Standing standing = index.Evaluate(WarmCustomer(), FittedPopulation());
    benchmark::DoNotOptimize(standing);
  }
  state.SetItemsProcessed(state.iterations());
}

// Write of `now` over `old` (nullptr: a first standing).
void BM_SegmentIndexWrite(benchmark::State& state, bool after_order) {
  auto scratch = OpenScratchStore();
  if (!scratch.ok()) return Fail(state, scratch.status().ToString());
  const projections::SegmentIndex index(scratch->store.get());
  const Standing old = index.Evaluate(WarmCustomer(), FittedPopulation());
  const Standing now =
      after_order ? index.Evaluate(WarmCustomerAfterOrder(), FittedPopulation())
                  : old;
  rocksdb::WriteBatch batch;
  for (auto _ : state) {
    batch.Clear();
    index.Write(after_order ? &old : nullptr, now, &batch);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["batch_bytes"] = static_cast<double>(batch.GetDataSize());
}

void BM_SegmentIndexUpdate(benchmark::State& state) {
  auto scratch = OpenScratchStore();
  if (!scratch.ok()) return Fail(state, scratch.status().ToString());
  infra::ProjectionStore* store = scratch->store.get();
  const projections::SegmentIndex index(store);
  absl::ReaderMutexLock lock(&store->segment_mutex());
  // The customer as indexed before the order.
  rocksdb::WriteBatch batch;
  absl::Status s = index.Update(WarmCustomer(), FittedPopulation(), &batch);
  if (s.ok()) s = store->Write(&batch);
  if (!s.ok()) return Fail(state, s.ToString());

  const CustomerState after_order = WarmCustomerAfterOrder();
  for (auto _ : state) {
    batch.Clear();
    s = index.Update(after_order, FittedPopulation(), &batch);
    if (!s.ok()) {
      Fail(state, s.ToString());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ProjectorProcessYear(benchmark::State& state) {
  const std::vector<infra::LogRecord>& year = SimulatedYear();
  const size_t batch_size = static_cast<size_t>(state.range(0));
  std::vector<std::vector<infra::LogRecord>> batches;
  for (size_t i = 0; i < year.size(); i += batch_size) {
    batches.emplace_back(year.begin() + i,
                         year.begin() + std::min(year.size(), i + batch_size));
  }

  std::optional<ScratchStore> scratch;
  std::unique_ptr<projections::PartitionProjector> projector;
  for (auto _ : state) {
    state.PauseTiming();
    projector.reset();
    scratch.reset();  // the store closes before its directory goes
    auto opened = OpenScratchStore();
    if (!opened.ok()) {
      Fail(state, opened.status().ToString());
      break;
    }
    scratch.emplace(std::move(*opened));
    auto created =
        projections::PartitionProjector::Create(scratch->store.get(), 0);
    if (!created.ok()) {
      Fail(state, created.status().ToString());
      break;
    }
    projector = std::move(*created);
    state.ResumeTiming();

    for (const auto& batch : batches) {
      if (absl::Status s = projector->Process(batch); !s.ok()) {
        Fail(state, s.ToString());
        break;
      }
    }
    if (state.error_occurred()) break;
    if (projector->progress().folded() != static_cast<int64_t>(year.size())) {
      Fail(state, "the projector did not fold every event of the year");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(year.size()));
  state.counters["events"] = static_cast<double>(year.size());
  projector.reset();
  scratch.reset();
}

}  // namespace

void RegisterSegmentIndexBenchmarks() {
  benchmark::RegisterBenchmark("BM_SegmentIndex/evaluate",
                               BM_SegmentIndexEvaluate);
  benchmark::RegisterBenchmark(
      "BM_SegmentIndex/write/new_customer",
      [](benchmark::State& state) { BM_SegmentIndexWrite(state, false); });
  benchmark::RegisterBenchmark(
      "BM_SegmentIndex/write/after_order",
      [](benchmark::State& state) { BM_SegmentIndexWrite(state, true); });
  benchmark::RegisterBenchmark("BM_SegmentIndex/update/after_order",
                               BM_SegmentIndexUpdate);
  benchmark::RegisterBenchmark("BM_Projector/process_year",
                               BM_ProjectorProcessYear)
      ->ArgName("batch")
      ->Arg(100)
      ->Arg(2000)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace kehu::bench
