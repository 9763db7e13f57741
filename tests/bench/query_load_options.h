// The options of kehu-query-load (tests/bench/query_load.cc) and the checks
// and name lookups its flags go through. Each function that can reject a
// value says what was wrong; the caller puts the flag's name in front.
#ifndef KEHU_TESTS_BENCH_QUERY_LOAD_OPTIONS_H_
#define KEHU_TESTS_BENCH_QUERY_LOAD_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kehu/query/v1/query.pb.h"

namespace kehu::bench {

// The RPC under load.
enum class CallKind { kGetCustomer, kListCustomers, kSegmentSummary };

// "get", "list" or "summary".
const char* CallKindName(CallKind kind);

// Customer ids from a printf-like pattern with one integer conversion, as
// the simulator writes them ("C%06u": C000001, C000002, ...).
class CustomerIdFormat {
 public:
  // Accepts literal text (with %% for a percent sign) around exactly one
  // %d, %i or %u, optionally with a 0 flag and a width below 20.
  static absl::StatusOr<CustomerIdFormat> Parse(const std::string& pattern);

  // The id of customer `n`.
  std::string Format(int64_t n) const;

 private:
  CustomerIdFormat() = default;

  std::string prefix_;
  std::string suffix_;
  int width_ = 0;
  bool zero_pad_ = false;
};

struct LoadOptions {
  // host:port of the query service; loopback only (CheckLoopbackTarget).
  std::string server = "127.0.0.1:50051";
  CallKind call = CallKind::kGetCustomer;
  // Offered requests per second, open loop: request i is scheduled at
  // start + i / rate. 0 means saturation: a closed loop keeping
  // `concurrency` requests outstanding.
  double rate = 0;
  int concurrency = 16;
  // The measured window, after `warmup` whose requests are not measured.
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  // Every request's deadline, from its due time (open loop) or the moment
  // it is sent (closed loop).
  absl::Duration deadline = absl::Seconds(5);
  int runs = 3;
  // Client threads, each with its own completion queue, and channels (one
  // TCP connection each). One thread: on 2 cores shared with the server,
  // two used 64-75 us of CPU per GetCustomer at 10,000/s against 47-49 us
  // for one, and one answered more at saturation (README, Query latency).
  int threads = 1;
  int channels = 4;
  // Open loop: a request due while this many are outstanding waits (and
  // its wait counts in its latency), so memory stays bounded.
  int max_outstanding = 20000;

  // GetCustomer: ids Format(1..customers), drawn uniformly with `seed`.
  int64_t customers = 1000000;
  std::string id_format = "C%06u";
  uint64_t seed = 1;
  // Reference time of the views; unset means the server's now.
  std::optional<absl::Time> as_of;

  // ListCustomers: the first page of the customers in `tier` and `stage`
  // (unset: not filtered on it).
  std::optional<query::v1::PyramidTier> tier;
  std::optional<query::v1::LifecycleStage> stage;
  int page_size = 100;

  // SegmentSummary: the dimension the customer base is split by.
  query::v1::Dimension dimension = query::v1::DIMENSION_PYRAMID_TIER;

  // Names the figures in the JSON and markdown outputs.
  std::string label;
};

// OK when `server` is host:port with a host in 127.0.0.0/8, ::1 (written
// [::1]) or localhost, and a port 1..65535.
absl::Status CheckLoopbackTarget(const std::string& server);

// Look up an enum value by its name without the prefix, in lower case, as
// SegmentSummary prints them ("key", "at_risk", "pyramid_tier"); '-' may
// stand for '_'. An unknown name is INVALID_ARGUMENT listing the known ones.
absl::StatusOr<query::v1::PyramidTier> ParsePyramidTier(
    const std::string& name);
absl::StatusOr<query::v1::LifecycleStage> ParseLifecycleStage(
    const std::string& name);
absl::StatusOr<query::v1::Dimension> ParseDimension(const std::string& name);

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_QUERY_LOAD_OPTIONS_H_
