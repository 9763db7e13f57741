// QueryLoad: an asynchronous gRPC load client for kehu.query.v1.Query
// (GetCustomer, ListCustomers, SegmentSummary) that measures latency
// without letting a slow server hide its queueing.
//
// Operation: `threads` client threads, each with its own completion queue,
// share `channels` channels (each its own TCP connection, picked round
// robin). A run lasts warmup + duration.
//  - Open loop (rate > 0): request i is due at start + i / rate. Thread
//    i % threads sleeps until it is due, sends it, and never waits for an
//    answer. Each time it wakes it takes the answers already on its
//    queue, without waiting, and while answers are awaited it wakes at
//    least every 100 us for them: at 10,000 requests/s and more, one
//    wake-up per request instead of one to send and one per answer, which
//    on a machine shared with the server leaves the server more of the
//    CPU. An answer is therefore timed when its thread next wakes, at most
//    100 us (or one send interval, threads / rate, if shorter) after it
//    arrived, and its latency includes that wait: the figures can only
//    err high. After its last request the thread waits for the remaining
//    answers. A request's
//    latency runs from its due time, not from when it was actually sent, so
//    a request that had to wait (client behind, or max_outstanding
//    reached) counts its wait. The lateness of sends is reported on its
//    own (send lag), which shows when the client rather than the server
//    was the bottleneck. The deadline runs from the due time too; a
//    request that could not be sent before it fails as DEADLINE_EXCEEDED
//    unsent, so a run ends at most a deadline after its window.
//  - Closed loop (rate 0, saturation): each client thread keeps its
//    share of `concurrency` requests outstanding and sends the next one as
//    soon as one returns; latency runs from the send.
// Before a run, one request per channel waits until the server has
// answered whatever an earlier overload left queued.
// Measured are the requests due (open loop) or sent (closed loop) in the
// window [start + warmup, start + warmup + duration); every one of them is
// waited for, up to its deadline. Answers with an error status are counted
// by code and are part of the latency figures too: a call that timed out
// counts with its full wait. Achieved rates are answers received within
// the window per second of it.
//
// Concurrency: Run() is called from one thread at a time; it starts and
// joins its own threads.
//
// Limitations: the client shares the machine with the server on a loopback
// target, so its CPU time (reported per call) is taken from the server's;
// at saturation the figures are those of client and server together.
// Sleep precision (timer slack set to 1 ns) adds a few microseconds of send
// lag, reported as such.
#ifndef KEHU_TESTS_BENCH_LOAD_RUNNER_H_
#define KEHU_TESTS_BENCH_LOAD_RUNNER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "tests/bench/latency_histogram.h"
#include "tests/bench/query_load_options.h"

namespace kehu::bench {

// gRPC status codes run 0 (OK) to 16 (UNAUTHENTICATED).
inline constexpr int kStatusCodeCount = 17;

// "UNIMPLEMENTED", "DEADLINE_EXCEEDED", ...
const char* StatusCodeName(int code);

// What one run measured.
struct RunResult {
  // Length of the measured window, seconds.
  double seconds = 0;
  // Measured requests answered, and of those without error.
  int64_t calls = 0;
  int64_t ok = 0;
  // Measured requests by status code (index 0, OK, is unused).
  std::array<int64_t, kStatusCodeCount> errors_by_code{};
  // Of the DEADLINE_EXCEEDED errors, requests never sent: their deadline
  // passed while the client was behind or at max_outstanding.
  int64_t unsent = 0;
  // Errors among the warmup's requests (not in the figures).
  int64_t warmup_errors = 0;
  // Answers (any status / OK) received within the window, per second.
  double achieved_rate = 0;
  double ok_rate = 0;
  // Of the measured requests, from due (open loop) or send (closed loop)
  // time to the answer, nanoseconds.
  LatencyHistogram latency;
  // Open loop: how late each measured request was sent, nanoseconds.
  LatencyHistogram send_lag;
  // CPU time (user + system) of this process over the whole run, warmup
  // included, and the requests answered in it.
  double client_cpu_seconds = 0;
  int64_t all_calls = 0;
  // How long the run waited, before it started, for the server to answer
  // what earlier runs had left queued.
  double idle_wait_seconds = 0;

  int64_t errors() const { return calls - ok; }
};

class QueryLoad {
 public:
  // Opens the channels to options.server and waits up to 10 s for each to
  // connect; UNAVAILABLE when one does not.
  // REQUIRES: options passed CheckLoopbackTarget and the flag checks.
  static absl::StatusOr<std::unique_ptr<QueryLoad>> Connect(
      const LoadOptions& options);

  QueryLoad(const QueryLoad&) = delete;
  QueryLoad& operator=(const QueryLoad&) = delete;
  ~QueryLoad();

  // Waits until the server is idle (WaitForIdleServer), then runs warmup +
  // duration of load and returns the measured figures. `run` (0-based) is
  // mixed into the seed, so runs draw different ids.
  RunResult Run(int run);

 private:
  struct ClientThread;

  QueryLoad(const LoadOptions& options, query::v1::ListCustomersRequest list,
            query::v1::SegmentSummaryRequest summary);

  // Sends one request of the benchmark's kind on each channel in turn and
  // waits for its answer (any status, up to 10 minutes), so that what an
  // overload left queued on the server (a server works off the calls of
  // one method in order) is gone before a run starts; returns the seconds
  // it took.
  double WaitForIdleServer();
  // Sends one request on `client`'s completion queue.
  void Send(ClientThread& client, int64_t due_ns, bool measured);
  // Accounts for the answered call `tag` at `now_ns`.
  void Reap(ClientThread& client, void* tag, int64_t now_ns);
  // Open loop: sends requests client.index, + threads, ... when they are
  // due, taking the answers on the queue whenever it wakes (ReapReady).
  void SendOnSchedule(ClientThread& client, int64_t total);
  // Reaps every answer already on `client`'s queue, without waiting.
  void ReapReady(ClientThread& client);
  // Reaps answers until sending is over and nothing is outstanding; in a
  // closed loop, also sends a new request for each answer until the window
  // ends.
  void ReapUntilDone(ClientThread& client, bool closed_loop);

  const LoadOptions options_;
  const CustomerIdFormat id_format_;
  const query::v1::ListCustomersRequest list_request_;
  const query::v1::SegmentSummaryRequest summary_request_;
  std::vector<std::unique_ptr<query::v1::Query::Stub>> stubs_;
  // Of the run in progress, steady-clock nanoseconds.
  int64_t window_start_ns_ = 0;
  int64_t window_end_ns_ = 0;
};

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_LOAD_RUNNER_H_
