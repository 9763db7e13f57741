// FreshnessProbe: how long after an ingest is acknowledged its event shows
// in GetCustomer, for the end-to-end benchmark (tests/bench/e2e_bench.sh).
//
// Operation: a probe appends one event (a logged inbound call, which
// changes no money, tier or stage) for a customer drawn uniformly from
// the ids 1..customers through kehu.ingest.v1.Ingest/Append, notes the
// partition and offset the answer gives, then calls GetCustomer for that
// customer back to back until the view's log position has reached that
// offset (Reflects()). Three durations per probe: send → ack (a durable
// append), ack → visible (the freshness figure) and send → visible.
// Probes are paced: probe i is due at start + i / rate; one that falls due
// while the previous is still waiting goes as soon as that one is done,
// so the rate is an upper bound (the run says what it achieved).
//
// Concurrency: one thread, synchronous calls; a FreshnessProbe is used by
// one thread at a time.
//
// Limitations: the polling itself loads the server (one GetCustomer
// after another, no pause), and a reported freshness is at most one
// GetCustomer round trip late. Each probe's event stays in the log.
#ifndef KEHU_TESTS_BENCH_FRESHNESS_PROBE_H_
#define KEHU_TESTS_BENCH_FRESHNESS_PROBE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "tests/bench/latency_histogram.h"
#include "tests/bench/query_load_options.h"

namespace kehu::bench {

struct FreshnessOptions {
  // host:port of the ingest and query services; loopback only.
  std::string server = "127.0.0.1:50051";
  // Probes per run and their pace (probes per second).
  int samples = 1000;
  double rate = 100;
  int runs = 3;
  // Customers probed: id_format(1..customers), drawn uniformly with seed.
  int64_t customers = 1000;
  std::string id_format = "C%06u";
  uint64_t seed = 1;
  // How long one probe waits for its event to show before it counts as
  // timed out.
  absl::Duration deadline = absl::Seconds(5);
  // The events' occurred_at.
  absl::Time occurred_at = absl::UnixEpoch();
  // Prefix of the probes' event ids; ids are unique within an invocation
  // and, with a fresh prefix, across invocations.
  std::string event_id_prefix = "freshness";
  std::string label = "freshness";
};

// The event a probe appends: an inbound call of `customer_id` with outcome
// resolved, at `occurred_at`. Passes infra::ValidateEvent().
events::v1::Event ProbeEvent(const std::string& event_id,
                             const std::string& customer_id,
                             absl::Time occurred_at);

// True when `view` has folded the record at `offset` of `partition`: its
// position is in that partition at or past that offset.
bool Reflects(const query::v1::CustomerView& view, int32_t partition,
              int64_t offset);

// One run's figures.
struct FreshnessRun {
  int64_t probes = 0;
  // Probes whose event showed within the deadline; only they are in the
  // histograms.
  int64_t visible = 0;
  int64_t timed_out = 0;
  // Probes whose Append or a GetCustomer failed, by status code name.
  std::map<std::string, int64_t> errors;
  int64_t polls = 0;  // GetCustomer calls of the visible probes
  absl::Duration elapsed;
  LatencyHistogram send_to_ack;
  LatencyHistogram ack_to_visible;
  LatencyHistogram send_to_visible;
};

class FreshnessProbe {
 public:
  // Connects one channel to options.server (waits up to 10 s).
  static absl::StatusOr<std::unique_ptr<FreshnessProbe>> Connect(
      const FreshnessOptions& options);

  FreshnessProbe(const FreshnessProbe&) = delete;
  FreshnessProbe& operator=(const FreshnessProbe&) = delete;

  // Runs options.samples probes; `run` goes into the event ids.
  FreshnessRun Run(int run);

 private:
  explicit FreshnessProbe(const FreshnessOptions& options);

  FreshnessOptions options_;
  CustomerIdFormat id_format_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
};

// "run 1/3: 1000 probes at 99.8/s, ..." (newline-terminated).
std::string FormatFreshnessRun(int run, int runs, const FreshnessRun& result);

// One JSON object (no newline): the options, every run and the medians
// over the runs of each percentile, in microseconds.
std::string FreshnessJson(const FreshnessOptions& options,
                          const std::vector<FreshnessRun>& runs);

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_FRESHNESS_PROBE_H_
