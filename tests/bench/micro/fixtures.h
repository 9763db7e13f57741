// Fixtures of the micro benchmarks (tests/bench/README.md): realistic
// events of every payload type, a warm customer with two years of history,
// a fitted population, a simulated year as log records, and a projection
// store in a scratch directory.
//
// Everything is deterministic: the same build measures the same work on
// every run. CheckFixtures() verifies once, before any benchmark runs, that
// the events still pass the ingest validation and do to the warm customer
// what their comments say; a fixture that drifted from the code fails the
// run instead of measuring something else.
#ifndef KEHU_TESTS_BENCH_MICRO_FIXTURES_H_
#define KEHU_TESTS_BENCH_MICRO_FIXTURES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::bench {

// The customer the warm history and the next events are about.
inline constexpr char kWarmCustomerId[] = "C000042";

// Two years (2024-01-08 .. 2025-12) of a business customer, in log order:
// a registration, 20 orders of 1-5 lines (most booked in the ERP with
// their cost of goods, every fifth in the web shop without), payments of
// all but the last (some late), one cancellation, two partial returns,
// four complaints (three resolved, one still open), eight surveys, twelve
// calls, thirty emails and two profile updates: 101 events.
const std::vector<events::v1::Event>& WarmHistory();

// WarmHistory() folded (projections/customer_fold.h) into one state.
const store::v1::CustomerState& WarmCustomer();

// One event of each payload type, in the field order of Event.payload,
// each of which arrives after the warm history and changes the warm
// customer as such an event does in production: a re-sent registration, a
// new address, a new 3-line order, the cancellation of the latest order,
// a partial return of it, its payment (on an invoice with a due date), a
// call, an email, a complaint about it, the resolution of the open
// complaint, and a survey answer.
const std::vector<events::v1::Event>& NextEvents();

// The event's payload field name ("order_placed").
std::string PayloadName(const events::v1::Event& event);

// The reference time of views and standings: 2026-01-01T00:00:00Z.
absl::Time ReferenceTime();

// A population as `kehu fit` measures one at ReferenceTime(), in EUR. The
// RFM cuts, the pyramid cutoffs, the customer counts and the BG/NBD and
// Gamma-Gamma parameters are those the README reports for the Online Retail
// data set; the Pareto cutoff, the mean margins per category and tier and
// the value medians are made up, of the same order.
const store::v1::PopulationModel& FittedPopulation();

// A year (2025) of 2,000 simulated customers (producers/simulator.h, seed
// 7), about 28,000 events, as consecutive records of partition 0 from
// offset 0. Simulated on first use.
const std::vector<infra::LogRecord>& SimulatedYear();

// Returns an error when a fixture no longer means what its comment says.
absl::Status CheckFixtures();

// A fresh directory under $TMPDIR (default /tmp), removed with everything
// in it on destruction.
class ScratchDir {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDir>> Create();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A projection store (reporting currency EUR) in its own scratch
// directory, with FittedPopulation() stored as the last `kehu fit`.
struct ScratchStore {
  std::unique_ptr<ScratchDir> dir;  // declared first: outlives the store
  std::unique_ptr<infra::ProjectionStore> store;
};
absl::StatusOr<ScratchStore> OpenScratchStore();

// Ends the benchmark with `message` (SkipWithError) and makes the binary
// exit with status 1 after the run, so that a smoke run fails.
void Fail(benchmark::State& state, const std::string& message);

// True when Fail() was called.
bool AnyFailed();

// Register the benchmarks of decode_benchmark.cc, fold_benchmark.cc,
// segment_index_benchmark.cc and view_benchmark.cc.
void RegisterDecodeBenchmarks();
void RegisterFoldBenchmarks();
void RegisterSegmentIndexBenchmarks();
void RegisterViewBenchmarks();

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_MICRO_FIXTURES_H_
